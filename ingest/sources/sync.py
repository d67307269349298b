"""One sync of one named source: materialise its pages into a folder, then index that folder
under ``<name>/`` with the shared Ingestor, then write the source's state.

A git re-sync reads only the files the diff from the synced commit names (and the pages that
include one of them, ``depends.py``), when the index still holds that commit under the same
configuration; otherwise (first sync, ``--full``, a force push, a changed configuration, a
rebuilt index) it reads the whole checkout.

Crash-safe like ``docent ingest``: the folder is the desired state and the Ingestor diffs it
against the index, so a sync killed at any point is repaired by the next one; the state file
(last commit, counts) is written atomically only after the index is updated, so a killed git
sync re-diffs from the old commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pathspec

from docent.embedder import Embedder
from docent.errors import ConfigError
from docent.index import IndexStore
from docent.schema import sha256_hex
from docent.settings import Settings, SourceSettings
from docent.sparse import Bm25Encoder
from ingest.documents import Document
from ingest.pipeline import Ingestor, IngestSummary
from ingest.sources import depends, git
from ingest.sources.state import SyncState, source_dir
from ingest.visibility import PathRule, VisibilityPolicy

log = logging.getLogger(__name__)

# One sync per source at a time (scheduler, CLI in the same process, admin API).
_LOCKS: dict[str, threading.Lock] = {}


def source_lock(name: str) -> threading.Lock:
    """The lock a source's syncs (and a rebuild's pass over it) hold in this process."""
    return _LOCKS.setdefault(name, threading.Lock())


def find_source(settings: Settings, name: str) -> SourceSettings:
    """The source called ``name``, or a ConfigError listing the configured ones."""
    for source in settings.sources:
        if source.name == name:
            return source
    names = ", ".join(s.name for s in settings.sources) or "none configured (DOCENT_SOURCES)"
    raise ConfigError(f"no source named {name!r}; sources: {names}")


def load_state(settings: Settings, source: SourceSettings) -> SyncState:
    """The source's last sync as saved (empty before its first)."""
    return SyncState.load(source_dir(settings, source) / "state.json", source.name, source.kind)


def policy_for(settings: Settings, source: SourceSettings) -> VisibilityPolicy:
    """The deployment's path rules, then the source's access as its default (with its groups)."""
    rules = tuple(PathRule(r.pattern, r.visibility, tuple(sorted(r.groups))) for r in settings.visibility.rules)
    if source.groups:
        rules += (PathRule("**", source.visibility, tuple(sorted(source.groups))),)
    return VisibilityPolicy(source.visibility, rules)


def _spec(patterns: list[str]) -> pathspec.GitIgnoreSpec | None:
    return pathspec.GitIgnoreSpec.from_lines(patterns) if patterns else None


class SourceRewrite:
    """Per-document source rules: include/exclude globs, stricter access, citation URLs."""

    def __init__(self, source: SourceSettings, prefix: str, urls: Callable[[str], str | None],
                 versions: Callable[[str], str] | None = None) -> None:
        self.source = source
        self.prefix = prefix
        self.urls = urls
        self.versions = versions  # git: the commit of each file's last change
        self.include = _spec(source.include)
        self.exclude = _spec(source.exclude)

    def __call__(self, doc: Document) -> Document | None:
        rel = doc.path[len(self.prefix):]
        if self.include is not None and not self.include.match_file(rel):
            return None
        if self.exclude is not None and self.exclude.match_file(rel):
            return None
        if self.versions is not None:
            doc = replace(doc, version=self.versions(rel))
        url = self.urls(rel) or doc.url
        visibility, groups = doc.visibility, doc.groups
        if self.source.visibility == "internal" and visibility == "public":  # the page may not loosen it
            visibility, groups = "internal", tuple(sorted(self.source.groups))
        elif visibility == "internal" and not groups and self.source.groups:
            groups = tuple(sorted(self.source.groups))
        if (url, visibility, groups) == (doc.url, doc.visibility, doc.groups):
            return doc
        # URL and access are part of the hash, so a changed one re-permissions the chunks.
        doc_hash = sha256_hex("\x00".join([doc.doc_hash, url, visibility, ",".join(groups)]))
        return replace(doc, url=url, visibility=visibility, groups=groups, doc_hash=doc_hash)


def config_hash(settings: Settings, source: SourceSettings, embedder: Embedder) -> str:
    """Everything besides the files that shapes what a source's sync puts in the index."""
    return sha256_hex("\x00".join([source.model_dump_json(), settings.visibility.model_dump_json(),
                                   str(settings.chunk_max_words), settings.docs_base_url, embedder.name]))


@dataclass(slots=True)
class Tree:
    """A source materialised on disk: what to index, and how."""

    folder: Path
    urls: Callable[[str], str | None] = lambda rel: None
    versions: Callable[[str], str] | None = None
    errors: list[str] = field(default_factory=list)
    failed: int = 0
    # git: the paths (relative to ``folder``) a diff-only run must read; None: read everything.
    changed: list[str] | None = None


def _materialise(settings: Settings, source: SourceSettings, state: SyncState, full: bool) -> Tree:
    """Fetch or check the source into a folder; updates ``state`` (its commit and file map)."""
    home = source_dir(settings, source)
    if source.kind == "folder":
        folder = Path(source.location).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"source {source.name!r}: folder {folder} does not exist")
        return Tree(folder)
    if source.kind == "git":
        head = git.checkout(source.location, source.branch, home / "repo")
        return git_tree(source, home / "repo", state, git.diff(home / "repo", "" if full else state.version,
                                                                head, source.subfolder))
    from ingest.sources.website import crawl  # httpx and trafilatura only for website sources

    result = crawl(source, home, full=full)
    return Tree(result.folder, result.urls.get, None, result.errors, result.failed)


def git_tree(source: SourceSettings, repo: Path, state: SyncState, change: git.GitDiff) -> Tree:
    """The checkout at ``change.head``; each file's last commit and include map brought up to it."""
    head, sub = change.head, source.subfolder.strip("/")
    folder = repo / sub if sub else repo
    if not folder.is_dir():
        raise ConfigError(f"source {source.name!r}: no folder {sub!r} on branch {source.branch!r}")
    touched = [*change.added, *change.changed, *change.deleted]
    if change.full:
        commits = {rel: sha for rel, sha in git.last_commits(repo, sub).items() if (folder / rel).is_file()}
        includes = depends.scan(folder)
    else:
        commits = {rel: sha for rel, sha in state.file_commits.items() if rel not in change.deleted}
        commits.update({rel: head for rel in [*change.added, *change.changed]})
        if state.includes is None:  # saved before include maps were kept: one full read
            includes = depends.scan(folder)
        else:
            includes = {rel: names for rel, names in state.includes.items() if rel not in touched}
            includes.update(depends.scan(folder, [*change.added, *change.changed]))
    changed = None if change.full or state.includes is None else depends.to_read(
        folder, touched, state.includes, includes)
    state.file_commits, state.includes, state.version = commits, includes, head
    template = source.file_url or git.file_url_template(source.location)

    def file_url(rel: str) -> str | None:
        if source.url_base or not template:
            return None
        return template.format(commit=commits.get(rel, head), path=f"{sub}/{rel}" if sub else rel)

    return Tree(folder, file_url, lambda rel: commits.get(rel, head), changed=changed)


def sync_source(settings: Settings, source: SourceSettings, store: IndexStore, embedder: Embedder, *,
                full: bool = False, on_change: Callable[[dict[str, Any]], object] | None = None,
                ) -> tuple[SyncState, IngestSummary | None]:
    """Sync ``source`` into the index; the saved state (with errors) and the ingest summary."""
    with source_lock(source.name):
        started = time.perf_counter()
        path = source_dir(settings, source) / "state.json"
        state = load_state(settings, source)
        try:
            tree = _materialise(settings, source, state, full)
            ingestor = source_ingestor(settings, source, store, embedder)
            config = config_hash(settings, source, embedder)
            # The index (not rebuilt since) holds the synced commit, read with this configuration.
            current = state.config == config and state.collection == store.active(ingestor.meta).name
            if tree.changed == [] and current:  # an empty diff: nothing to read
                state.unchanged += state.added + state.changed
                state.added = state.changed = state.deleted = 0
                state.seconds, state.last_sync = round(time.perf_counter() - started, 3), time.time()
                state.save(path)
                return state, None
            prefix = f"{source.name}/"
            only = tree.changed if current else None
            summary = ingestor.run(tree.folder, progress=False, on_change=on_change, prefix=prefix,
                                   rewrite=SourceRewrite(source, prefix, tree.urls, tree.versions), only=only)
        except Exception as exc:
            if isinstance(exc, ConfigError):  # a missing folder, a failed clone: one line, not a traceback
                log.error("sync of source %s failed: %s", source.name, exc)
            else:
                log.exception("sync of source %s failed", source.name)
            # The old state (its commit) stays: the next sync diffs from what the index holds.
            state = load_state(settings, source)
            state.errors, state.last_sync = [f"sync failed: {exc}"], time.time()
            state.added = state.changed = state.deleted = state.unchanged = state.failed = 0
            state.save(path)
            raise
        record(state, summary, tree, only, prefix)
        state.seconds = round(time.perf_counter() - started, 3)
        state.config, state.collection = config, summary.collection
        state.save(path)  # only now: a crash before this re-runs the sync from the old commit
        return state, summary


def source_ingestor(settings: Settings, source: SourceSettings, store: IndexStore, embedder: Embedder) -> Ingestor:
    """The Ingestor a source's pages go through (its URL base and access policy)."""
    base = source.url_base or f"{settings.docs_base_url.rstrip('/')}/{source.name}"
    return Ingestor(store, embedder, Bm25Encoder(), settings.data_dir, base, settings.chunk_max_words,
                    policy_for(settings, source))


def record(state: SyncState, summary: IngestSummary, tree: Tree, only: list[str] | None, prefix: str) -> None:
    """Put a run's counts and failures in ``state``; a diff-only run keeps the skips it did not re-read."""
    read = None if only is None else {prefix + rel for rel in only}
    skipped = {} if read is None else {p: why for p, why in state.skipped.items() if p not in read}
    skipped.update({s["path"]: s["reason"] for s in summary.skipped})
    state.skipped = skipped
    state.added, state.changed = summary.docs_added, summary.docs_updated
    state.deleted, state.unchanged = summary.docs_deleted, summary.docs_unchanged
    state.failed = tree.failed + len(skipped)
    state.errors = tree.errors + [f"{p}: {why}" for p, why in sorted(skipped.items())]
    state.last_sync = time.time()


def combine(summaries: list[IngestSummary]) -> IngestSummary:
    """Several sources' runs as one summary (the admin ingest API's answer)."""
    out = IngestSummary()
    changes: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    for s in summaries:
        for name in ("docs_added", "docs_updated", "docs_deleted", "docs_unchanged", "chunks_added",
                     "chunks_updated", "chunks_deleted", "chunks_unchanged"):
            setattr(out, name, getattr(out, name) + getattr(s, name))
        out.skipped.extend(s.skipped)
        out.warnings.extend(s.warnings)
        out.seconds += s.seconds
        out.collection = s.collection
        for key, paths in s.changes.items():
            changes.setdefault(key, []).extend(paths)
    out.changes = changes
    return out


def run_sync(settings: Settings, name: str, *, full: bool = False) -> SyncState:
    """``docent sources sync NAME``: open the store (this process its only writer), sync, close."""
    from docent.embedder import build_embedder
    from docent.index import open_store

    source = find_source(settings, name)
    store = open_store(settings, role=f"sources sync {name}")
    try:
        return sync_source(settings, source, store, build_embedder(settings), full=full)[0]
    finally:
        store.close()
