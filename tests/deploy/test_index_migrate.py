"""`docent index migrate`: an ingested embedded store copied, vectors and all, into a server store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient
from typer.testing import CliRunner

from docent.embedder import Embedder
from docent.errors import MigrationError
from docent.index.base import IndexStore, SearchMode, SearchQuery
from docent.index.edge import EdgeStore
from docent.index.migrate import migrate, target_settings
from docent.index.server import ServerStore
from docent.schema import Access
from docent.settings import IndexSettings, Settings
from docent.sparse import Bm25Encoder
from entrypoints.cli import app
from ingest.pipeline import Ingestor

QUERIES = ["Where does the SOCKS5 password go?", "How much is the Business plan?", "NO_PROXY variable",
           "escalation discount approvals"]


@pytest.fixture
def server_store() -> Iterator[ServerStore]:
    """The server backend over qdrant-client's local mode (no Qdrant server binary runs here)."""
    store = ServerStore(QdrantClient(location=":memory:"), IndexSettings(shard_number=2, replication_factor=1))
    yield store
    store.close()


def _ids(store: IndexStore, embedder: Embedder, text: str, access: Access, mode: SearchMode) -> list[str]:
    index = store.open_active()
    assert index is not None
    indices, values = Bm25Encoder().query(text)
    query = SearchQuery(embedder.embed_query(text), indices, values, access, limit=20, mode=mode)
    return [h.chunk_id for h in index.search(query)]


def test_migrate_edge_to_server_same_points_and_search_ids(edge_store: EdgeStore, server_store: ServerStore,
                                                           embedder: Embedder, settings: Settings,
                                                           mini_corpus: Path) -> None:
    """Every point arrives with its payload, and dense searches return the same ids in the same order."""
    Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir, "/docs").run(mini_corpus, progress=False)
    summary = migrate(edge_store, server_store, batch_size=3)
    source, target = edge_store.open_active(), server_store.open_active()
    assert source is not None and target is not None
    assert summary.points == source.count() == target.count() > 4
    assert target.name == summary.target and target.meta == source.meta
    inventory = source.inventory()
    assert {k: (v.doc_hash, v.ids) for k, v in target.inventory().items()} == {
        k: (v.doc_hash, v.ids) for k, v in inventory.items()}
    ids = [i for entry in inventory.values() for i in entry.ids]
    assert target.payloads(ids) == source.payloads(ids)
    for query in QUERIES:
        for access in (Access.public(), Access.staff(all_groups=True)):
            dense = _ids(edge_store, embedder, query, access, "dense")
            assert dense and _ids(server_store, embedder, query, access, "dense") == dense, query
            # BM25 scores tie often on a tiny corpus, so the sparse branch is compared as a set.
            sparse = set(_ids(edge_store, embedder, query, access, "sparse"))
            assert set(_ids(server_store, embedder, query, access, "sparse")) == sparse, query


def test_migrate_refuses_a_non_empty_target_without_replace(edge_store: EdgeStore, server_store: ServerStore,
                                                            embedder: Embedder, settings: Settings,
                                                            mini_corpus: Path) -> None:
    """A second migration into a serving collection needs --replace, and then swaps the alias."""
    Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir, "/docs").run(mini_corpus, progress=False)
    first = migrate(edge_store, server_store)
    with pytest.raises(MigrationError, match="--replace"):
        migrate(edge_store, server_store)
    second = migrate(edge_store, server_store, replace=True)
    active = server_store.open_active()
    assert active is not None and active.name == second.target != first.target
    assert second.replaced == first.target and active.count() == first.points


def test_migrate_empty_source_fails_with_a_hint(edge_store: EdgeStore, server_store: ServerStore) -> None:
    """Nothing ingested yet: a clear error, and nothing is created on the target."""
    with pytest.raises(MigrationError, match="docent ingest"):
        migrate(edge_store, server_store)
    assert server_store.open_active() is None


def test_target_settings_keep_shards_and_replicas_from_settings(settings: Settings) -> None:
    """The target collection is created with the configured shard number and replication factor."""
    configured = settings.model_copy(update={"index": IndexSettings(shard_number=6, replication_factor=2)})
    target = target_settings(configured, "http://qdrant:6333", "k", "docs-v2")
    assert (target.url, target.api_key, target.collection) == ("http://qdrant:6333", "k", "docs-v2")
    assert (target.shard_number, target.replication_factor) == (6, 2)


def test_cli_index_migrate_help_and_unreachable_target(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docent index migrate --help` documents --to; an unreachable target is a clean exit 2, not a traceback."""
    runner = CliRunner()
    result = runner.invoke(app, ["index", "migrate", "--help"])
    assert result.exit_code == 0 and "--to" in result.output and "--replace" in result.output
    monkeypatch.setenv("DOCENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(settings.data_dir.parent)
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    result = runner.invoke(app, ["index", "migrate", "--to", "http://127.0.0.1:9", "-q"])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output
