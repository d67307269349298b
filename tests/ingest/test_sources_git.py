"""The git source: a real repository behind a file:// URL, synced commit by commit."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from docent.embedder import Embedder
from docent.errors import ConfigError
from docent.index.edge import EdgeStore
from docent.settings import Settings, SourceSettings
from ingest.pipeline import Ingestor
from ingest.sources.sync import load_state, sync_source
from tests.conftest import write
from tests.ingest.test_pipeline_incremental import CountingEmbedder

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity."""
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout.strip()


def commit(repo: Path, message: str) -> str:
    """Commit everything in ``repo``; the new commit."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with docs under docs/ and a file outside it."""
    root = tmp_path / "upstream"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(root, "docs/install.md", "# Install\n\nRun the installer with --fast to skip the checks.\n")
    write(root, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1080.\n")
    write(root, "docs/old.md", "# Old\n\nThe legacy importer reads CSV files.\n")
    write(root, "docs/drafts/wip.md", "# Draft\n\nNot ready yet.\n")
    write(root, "README.md", "# Repo readme, not docs\n\nOutside the subfolder.\n")
    commit(root, "first")
    return root


def _source(repo: Path, **extra: Any) -> SourceSettings:
    fields: dict[str, Any] = {"exclude": ["drafts/"], "file_url": "https://git.example.com/h/blob/{commit}/{path}",
                              **extra}
    return SourceSettings(name="handbook", kind="git", location=f"file://{repo}", subfolder="docs", **fields)


def _paths(store: EdgeStore) -> dict[str, dict[str, Any]]:
    index = store.open_active()
    assert index is not None
    inv = index.inventory()
    payloads = index.payloads([cid for entry in inv.values() for cid in entry.ids])
    return {p["doc_path"]: p for p in payloads.values()}


def test_git_sync_follows_add_change_rename_delete(settings: Settings, edge_store: EdgeStore,
                                                   embedder: Embedder, repo: Path) -> None:
    """Each commit's adds, edits, renames and deletes reach the index; unchanged pages are not re-embedded."""
    source = _source(repo)
    counting = CountingEmbedder(embedder)
    first, _ = sync_source(settings, source, edge_store, counting)
    head1 = git(repo, "rev-parse", "HEAD")
    assert first.added == 3 and first.version == head1
    docs = _paths(edge_store)
    assert set(docs) == {"handbook/install.md", "handbook/proxy.md", "handbook/old.md"}
    assert docs["handbook/install.md"]["url"].startswith(f"https://git.example.com/h/blob/{head1}/docs/install.md")

    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1081.\n")
    git(repo, "mv", "docs/install.md", "docs/setup.md")
    git(repo, "rm", "-q", "docs/old.md")
    write(repo, "docs/new.md", "# New\n\nWebhooks retry five times.\n")
    head2 = commit(repo, "second")
    counting.embedded.clear()
    second, summary = sync_source(settings, source, edge_store, counting)
    docs = _paths(edge_store)
    assert set(docs) == {"handbook/setup.md", "handbook/proxy.md", "handbook/new.md"}
    assert second.version == head2 and second.deleted == 2 and second.added == 2 and second.changed == 1
    assert "1081" in " ".join(counting.embedded) and not any("legacy" in t for t in counting.embedded)
    assert docs["handbook/new.md"]["url"].startswith(f"https://git.example.com/h/blob/{head2}/docs/new.md")
    assert load_state(settings, source).version == head2
    assert summary is not None and summary.changes["removed"] == ["handbook/install.md", "handbook/old.md"]

    counting.embedded.clear()
    third, skipped = sync_source(settings, source, edge_store, counting)
    assert third.unchanged == 3 and third.added == third.changed == third.deleted == 0
    assert counting.embedded == [] and skipped is None  # an empty diff: the files are not even re-read

    drafts = source.model_copy(update={"exclude": []})  # a changed config is not skipped
    fourth, summary = sync_source(settings, drafts, edge_store, counting)
    assert summary is not None and fourth.added == 1 and "handbook/drafts/wip.md" in _paths(edge_store)


def test_git_sync_leaves_other_sources_and_docs_folder_alone(settings: Settings, edge_store: EdgeStore,
                                                              embedder: Embedder, repo: Path,
                                                              mini_corpus: Path) -> None:
    """A source's sync removes only its own pages; the docs folder's run leaves the source's pages."""
    source = _source(repo)
    settings = settings.model_copy(update={"sources": [source]})
    from ingest.worker import build_ingestor

    folder_ingestor: Ingestor = build_ingestor(settings, edge_store, embedder)
    folder_ingestor.run(mini_corpus, progress=False)
    before = {p for p in _paths(edge_store) if not p.startswith("handbook/")}
    sync_source(settings, source, edge_store, embedder)
    assert {p for p in _paths(edge_store) if not p.startswith("handbook/")} == before
    folder_ingestor.run(mini_corpus, progress=False)
    assert "handbook/proxy.md" in _paths(edge_store)


def test_git_sync_bad_location_reports_and_keeps_index(settings: Settings, edge_store: EdgeStore,
                                                       embedder: Embedder, repo: Path, tmp_path: Path) -> None:
    """A repository that cannot be fetched raises, records the error, and leaves the indexed pages."""
    source = _source(repo)
    sync_source(settings, source, edge_store, embedder)
    gone = source.model_copy(update={"location": f"file://{tmp_path}/nowhere"})
    (settings.data_dir / "sources/handbook/repo").rename(tmp_path / "moved")  # force a fresh clone
    with pytest.raises(ConfigError, match="git clone failed"):
        sync_source(settings, gone, edge_store, embedder)
    state = load_state(settings, source)
    assert state.errors and "git clone failed" in state.errors[0]
    assert state.version == git(repo, "rev-parse", "HEAD")
    assert "handbook/proxy.md" in _paths(edge_store)


def test_git_location_refuses_command_transports(settings: Settings, edge_store: EdgeStore,
                                                 embedder: Embedder) -> None:
    """An ext:: location (which would run a command) is refused before git runs."""
    source = SourceSettings(name="evil", kind="git", location="ext::sh -c touch% /tmp/pwned")
    with pytest.raises(ConfigError, match="use an https"):
        sync_source(settings, source, edge_store, embedder)


def test_scheduler_resyncs_git_source_on_its_schedule(settings: Settings, edge_store: EdgeStore,
                                                      embedder: Embedder, repo: Path) -> None:
    """The scheduler syncs a git source at start and again schedule_s later, picking up a new commit."""
    import time

    from ingest.sources.schedule import Scheduler

    source = _source(repo, schedule_s=1)
    scheduler = Scheduler(settings.model_copy(update={"sources": [source]}), edge_store, embedder)
    thread = scheduler.start_thread()
    try:
        deadline = time.monotonic() + 60
        while load_state(settings, source).version != git(repo, "rev-parse", "HEAD"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        write(repo, "docs/added.md", "# Added\n\nScheduled syncs pick this up.\n")
        head = commit(repo, "more")
        while load_state(settings, source).version != head:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "handbook/added.md" in _paths(edge_store)
    finally:
        scheduler.stop()
        thread.join(timeout=30)
    assert not thread.is_alive()


def _versions(store: EdgeStore) -> dict[str, str]:
    return {path: p["doc_version"] for path, p in _paths(store).items()}


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the Ingestor reads from now on (relative paths), in order."""
    import ingest.documents
    import ingest.pipeline

    read: list[str] = []
    real = ingest.documents.read_document

    def spy(path: Path, root: Path, *args: Any, **kwargs: Any) -> Any:
        read.append(path.relative_to(root).as_posix())
        return real(path, root, *args, **kwargs)

    monkeypatch.setattr(ingest.documents, "read_document", spy)  # read_all's (a full read)
    monkeypatch.setattr(ingest.pipeline, "read_document", spy)  # the Ingestor's own (a diff-only read)
    return read


def test_git_doc_version_is_each_files_last_commit(settings: Settings, edge_store: EdgeStore,
                                                   embedder: Embedder, repo: Path) -> None:
    """Chunks carry the commit of their file's last change, and cite the file at that commit."""
    head1 = git(repo, "rev-parse", "HEAD")
    source = SourceSettings(name="handbook", kind="git", location=str(repo), subfolder="docs",  # a plain path
                            exclude=["drafts/"], file_url="file://{path}@{commit}")
    counting = CountingEmbedder(embedder)
    sync_source(settings, source, edge_store, counting)
    assert set(_versions(edge_store).values()) == {head1}
    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1081.\n")
    head2 = commit(repo, "proxy")
    sync_source(settings, source, edge_store, counting)
    docs = _paths(edge_store)
    assert docs["handbook/proxy.md"]["doc_version"] == head2 and docs["handbook/proxy.md"]["url"].startswith(
        f"file://docs/proxy.md@{head2}")
    assert docs["handbook/install.md"]["doc_version"] == head1 and docs["handbook/install.md"]["url"].startswith(
        f"file://docs/install.md@{head1}")

    counting.embedded.clear()  # a full re-read finds the same last commits: nothing changes
    state, summary = sync_source(settings, source, edge_store, counting, full=True)
    assert summary is not None and summary.changes == {"added": [], "changed": [], "removed": []}
    assert state.unchanged == 3 and counting.embedded == [] and _paths(edge_store) == docs


def test_git_doc_version_change_alone_updates_payload_without_embedding(
        settings: Settings, edge_store: EdgeStore, embedder: Embedder, repo: Path) -> None:
    """A page whose only news is its version keeps its vectors; its chunks' payloads get the version."""
    from dataclasses import replace

    from docent.sparse import Bm25Encoder

    counting = CountingEmbedder(embedder)
    ingestor = Ingestor(edge_store, counting, Bm25Encoder(), settings.data_dir, "/docs")
    ingestor.run(repo / "docs", progress=False, only=["proxy.md"])
    assert {p["doc_version"] for p in _paths(edge_store).values()} != {"abc123"}
    counting.embedded.clear()
    summary = ingestor.run(repo / "docs", progress=False, only=["proxy.md"],
                           rewrite=lambda doc: replace(doc, version="abc123"))
    assert summary.docs_updated == 1 and summary.chunks_updated >= 1 and counting.embedded == []
    assert {p["doc_version"] for p in _paths(edge_store).values()} == {"abc123"}


def test_git_resync_reads_only_the_diff(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A re-sync reads just the files the commit touched, and the pages that include a changed fragment."""
    write(repo, "docs/guide.md", "# Guide\n\nBefore you start:\n\n{!note.md!}\n")
    write(repo, "docs/include/note.md", "Back up the database first.\n")
    commit(repo, "includes")
    source = _source(repo, exclude=["drafts/", "include/"])
    sync_source(settings, source, edge_store, embedder)
    assert "Back up the database" in " ".join(p["text"] for p in _paths(edge_store).values())
    read = _reads(monkeypatch)

    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1081.\n")
    git(repo, "rm", "-q", "docs/old.md")
    commit(repo, "two")
    state, summary = sync_source(settings, source, edge_store, embedder)
    assert sorted(read) == ["proxy.md"]  # old.md is gone: removed without a read
    assert summary is not None and summary.changes == {"added": [], "changed": ["handbook/proxy.md"],
                                                       "removed": ["handbook/old.md"]}
    assert (state.changed, state.deleted, state.unchanged) == (1, 1, 2)

    read.clear()
    write(repo, "docs/include/note.md", "Back up the database and the uploads folder first.\n")
    commit(repo, "fragment")
    state, summary = sync_source(settings, source, edge_store, embedder)
    assert sorted(read) == ["guide.md", "include/note.md"]  # the fragment (excluded) and the page including it
    assert summary is not None and summary.changes["changed"] == ["handbook/guide.md"]
    guide = _paths(edge_store)["handbook/guide.md"]
    # Its text changed; its version stays the commit that last changed the file itself.
    assert "uploads folder" in guide["text"] and guide["doc_version"] == git(repo, "rev-parse", "HEAD~2")


def test_git_resync_follows_pages_becoming_fragments_and_back(settings: Settings, edge_store: EdgeStore,
                                                              embedder: Embedder, repo: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A diff-only re-sync drops a page that a changed page now includes, and indexes it again once
    no page includes it: the index matches what a full read gives."""
    source = _source(repo)
    sync_source(settings, source, edge_store, embedder)
    read = _reads(monkeypatch)
    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1080.\n\n{!install.md!}\n")
    commit(repo, "include install")
    sync_source(settings, source, edge_store, embedder)
    docs = _paths(edge_store)
    assert read == ["proxy.md"] and "handbook/install.md" not in docs  # a fragment now, not a page
    index = edge_store.open_active()
    assert index is not None
    texts = [p["text"] for p in index.payloads(list(index.inventory()["handbook/proxy.md"].ids)).values()]
    assert any("--fast" in text for text in texts)  # the included page's text, in the page's own chunks

    read.clear()
    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1080.\n")
    commit(repo, "no include")
    _, summary = sync_source(settings, source, edge_store, embedder)
    assert sorted(read) == ["install.md", "proxy.md"] and "handbook/install.md" in _paths(edge_store)
    assert summary is not None and summary.changes["added"] == ["handbook/install.md"]


def test_git_resync_reads_everything_when_the_synced_commit_is_gone(
        settings: Settings, edge_store: EdgeStore, embedder: Embedder, repo: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the synced commit cannot be diffed (force-pushed away), the whole checkout is read again."""
    source = _source(repo)
    state, _ = sync_source(settings, source, edge_store, embedder)
    state.version = "0" * 40  # what a force push plus gc leaves: a commit the checkout lacks
    state.save(settings.data_dir / "sources/handbook/state.json")
    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1081.\n")
    commit(repo, "after")
    read = _reads(monkeypatch)
    state, summary = sync_source(settings, source, edge_store, embedder)
    assert sorted(read) == ["drafts/wip.md", "install.md", "old.md", "proxy.md"]
    assert summary is not None and summary.changes["changed"] == ["handbook/proxy.md"] and state.unchanged == 2
    assert "1081" in _paths(edge_store)["handbook/proxy.md"]["text"]
