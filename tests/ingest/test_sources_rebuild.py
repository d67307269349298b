"""`docent ingest --rebuild` with named sources: the promoted collection already holds every source."""

from __future__ import annotations

from pathlib import Path

import pytest

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings, SourceSettings
from ingest.sources.rebuild import rebuild
from ingest.sources.sync import load_state, sync_source
from tests.conftest import write
from tests.ingest.test_sources_git import _paths, _reads, _source, commit, repo  # noqa: F401 - the fixture


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    """A folder source's folder."""
    folder = tmp_path / "handbook-folder"
    write(folder, "billing.md", "# Billing\n\nInvoices are sent on the first of the month.\n")
    return folder


def test_rebuild_reindexes_sources_from_disk_before_promoting(
        settings: Settings, edge_store: EdgeStore, embedder: Embedder, repo: Path, handbook: Path,  # noqa: F811
        mini_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right after a rebuild the active collection has the docs folder, the folder source and the git
    source (at its synced commit, not upstream's newer one); the next git sync is diff-only."""
    folder = SourceSettings(name="team", kind="folder", location=str(handbook))
    git_source = _source(repo)
    settings = settings.model_copy(update={"sources": [folder, git_source]})
    sync_source(settings, folder, edge_store, embedder)
    synced, _ = sync_source(settings, git_source, edge_store, embedder)
    before = edge_store.open_active().name  # type: ignore[union-attr]
    write(repo, "docs/proxy.md", "# Proxy\n\nThe default proxy port is 1081.\n")
    head = commit(repo, "not synced yet")  # a rebuild reads what is on disk: it fetches nothing

    summary = rebuild(settings, edge_store, embedder, progress=False)
    docs = _paths(edge_store)
    assert summary.rebuilt and summary.collection != before
    assert edge_store.open_active().name == summary.collection  # type: ignore[union-attr]
    assert {"team/billing.md", "handbook/install.md", "handbook/proxy.md", "handbook/old.md"} <= set(docs)
    assert "guide/proxies.md" in docs
    assert "1080" in docs["handbook/proxy.md"]["text"] and docs["handbook/proxy.md"]["doc_version"] == synced.version
    state = load_state(settings, git_source)
    assert state.collection == summary.collection and state.version == synced.version

    read = _reads(monkeypatch)
    state, changed = sync_source(settings, git_source, edge_store, embedder)
    assert read == ["proxy.md"] and state.version == head  # the rebuilt index counts as holding the commit
    assert changed is not None and changed.changes["changed"] == ["handbook/proxy.md"]
    assert "1081" in _paths(edge_store)["handbook/proxy.md"]["text"]


def test_rebuild_leaves_out_a_source_never_synced(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                                  repo: Path, mini_corpus: Path) -> None:  # noqa: F811
    """A source with nothing on disk is skipped (its first sync adds it); the docs folder is rebuilt."""
    settings = settings.model_copy(update={"sources": [_source(repo)]})
    summary = rebuild(settings, edge_store, embedder, progress=False)
    docs = _paths(edge_store)
    assert summary.docs_added == len(docs) and not any(p.startswith("handbook/") for p in docs)
    assert load_state(settings, _source(repo)).collection == ""


def test_cli_ingest_rebuild_keeps_folder_source_pages(settings: Settings, embedder: Embedder, handbook: Path,
                                                      mini_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docent ingest --rebuild` with a synced folder source: the new collection has the source's pages."""
    import json

    from typer.testing import CliRunner

    from entrypoints.cli import app as cli_app

    monkeypatch.setenv("DOCENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DOCENT_DOCS_DIR", str(mini_corpus))
    monkeypatch.setenv("DOCENT_SOURCES", json.dumps([{"name": "team", "location": str(handbook)}]))
    monkeypatch.setattr("docent.embedder.build_embedder", lambda _s: embedder)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["sources", "sync", "team"]).exit_code == 0
    result = runner.invoke(cli_app, ["ingest", "--rebuild", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["rebuilt"] and summary["docs_added"] >= 2
    store = EdgeStore(settings.store_dir, role="test")
    try:
        assert "team/billing.md" in _paths(store) and "guide/proxies.md" in _paths(store)
    finally:
        store.close()
