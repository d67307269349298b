"""``docent ingest --rebuild`` with named sources: one new collection holding the docs folder and
every source's pages, promoted only when complete, so no source is missing until its next sync.

Each source is re-indexed from what its last sync left on disk (the git checkout, put back at
the synced commit; the crawled pages; the folder), without network access. Its state then
names the new collection: the index holds the synced commit, so the next git sync is diff-only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docent.embedder import Embedder
from docent.index import IndexStore
from docent.settings import Settings, SourceSettings
from ingest.pipeline import IngestSummary
from ingest.sources import git
from ingest.sources.state import SyncState, source_dir
from ingest.sources.sync import (
    SourceRewrite,
    Tree,
    combine,
    config_hash,
    git_tree,
    load_state,
    record,
    source_ingestor,
    source_lock,
)

log = logging.getLogger(__name__)


def on_disk(settings: Settings, source: SourceSettings, state: SyncState) -> Tree | None:
    """The source's pages as its last sync left them, or None (never synced, or gone)."""
    home = source_dir(settings, source)
    if source.kind == "folder":
        folder = Path(source.location).expanduser()
        return Tree(folder) if folder.is_dir() else None
    if source.kind == "git":
        repo = home / "repo"
        # A sync killed after its fetch leaves the checkout ahead of the commit the state names.
        if not state.version or not (repo / ".git").is_dir() or not git.reset(repo, state.version):
            return None
        try:
            return git_tree(source, repo, state, git.GitDiff(state.version))
        except Exception:  # the subfolder is gone at that commit
            log.exception("source %s: checkout unusable", source.name)
            return None
    try:
        manifest: dict[str, dict[str, Any]] = json.loads((home / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    urls = {e["file"]: e["canonical"] for e in manifest.values() if e.get("file")}
    return Tree(home / "pages", urls.get) if (home / "pages").is_dir() else None


def rebuild(settings: Settings, store: IndexStore, embedder: Embedder, docs_dir: Path | None = None, *,
            progress: bool = True, on_change: Callable[[dict[str, Any]], object] | None = None) -> IngestSummary:
    """Fill a new collection from the docs folder and every source on disk, then promote it.

    ``docs_dir`` None means ``settings.docs_dir``, skipped when it does not exist (a deployment
    of sources only). A source never synced is left out, with a warning: its first sync adds it.
    """
    from ingest.worker import build_ingestor

    ingestor = build_ingestor(settings, store, embedder)
    build = store.new_build(ingestor.meta)
    entries: list[dict[str, Any]] = []
    summaries: list[IngestSummary] = []
    folder = docs_dir or settings.docs_dir
    if docs_dir is not None or folder.is_dir():
        summaries.append(ingestor.run(folder, progress=progress, on_change=entries.append, into=build))
    done: list[tuple[SourceSettings, SyncState, IngestSummary, Tree]] = []
    for source in settings.sources:
        with source_lock(source.name):
            state = load_state(settings, source)
            tree = on_disk(settings, source, state)
            if tree is None:
                log.warning("source %s: nothing on disk to rebuild from; its next sync adds its pages", source.name)
                continue
            prefix = f"{source.name}/"
            summary = source_ingestor(settings, source, store, embedder).run(
                tree.folder, progress=False, on_change=entries.append, prefix=prefix, into=build,
                rewrite=SourceRewrite(source, prefix, tree.urls, tree.versions))
        summaries.append(summary)
        done.append((source, state, summary, tree))
    store.promote(build)  # complete: every source's pages are in it
    for source, state, summary, tree in done:
        with source_lock(source.name):
            record(state, summary, tree, None, f"{source.name}/")
            state.config, state.collection = config_hash(settings, source, embedder), build.name
            state.save(source_dir(settings, source) / "state.json")
    out = combine(summaries)
    out.rebuilt, out.collection = True, build.name
    if entries and on_change is not None:  # after the promotion: an evaluation reads the new index
        on_change({**entries[-1], **{key: sorted({p for e in entries for p in e.get(key, [])})
                                     for key in ("added", "changed", "removed")}})
    return out


def run(settings: Settings, docs_dir: Path | None = None, *, progress: bool = True) -> IngestSummary:
    """``docent ingest --rebuild`` with sources: lock the store, rebuild, release."""
    from docent.embedder import build_embedder
    from docent.index import open_store

    store = open_store(settings, role="ingest --rebuild")
    try:
        return rebuild(settings, store, build_embedder(settings), docs_dir, progress=progress)
    finally:
        store.close()
