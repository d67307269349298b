"""Both index backends: visibility filtering, alias switch on rebuild, model mismatch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from docent.embedder import Embedder
from docent.errors import IndexMismatchError
from docent.index.base import IndexStore, SearchQuery
from docent.schema import Access, IndexMeta
from docent.settings import IndexSettings, Settings
from docent.sparse import Bm25Encoder
from ingest.pipeline import Ingestor


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[IndexStore]:
    """The embedded store, and the server backend over qdrant-client's local mode."""
    if request.param == "edge":
        from docent.index.edge import EdgeStore

        s: IndexStore = EdgeStore(settings.store_dir, role="test")
    else:
        from qdrant_client import QdrantClient

        from docent.index.server import ServerStore

        s = ServerStore(QdrantClient(location=":memory:"), IndexSettings())
    yield s
    s.close()


def _search(store: IndexStore, embedder: Embedder, text: str, access: Access, limit: int = 10) -> list[str]:
    index = store.open_active()
    assert index is not None
    indices, values = Bm25Encoder().query(text)
    hits = index.search(SearchQuery(embedder.embed_query(text), indices, values, access, limit=limit))
    return [h.doc_path for h in hits]


def _ingest(store: IndexStore, embedder: Embedder, settings: Settings, docs: Path, *, rebuild: bool = False) -> None:
    Ingestor(store, embedder, Bm25Encoder(), settings.data_dir, "/docs").run(docs, rebuild=rebuild, progress=False)


def test_search_public_access_never_returns_internal(store: IndexStore, embedder: Embedder, settings: Settings,
                                                      mini_corpus: Path) -> None:
    """The public filter excludes internal chunks even for a query naming them."""
    _ingest(store, embedder, settings, mini_corpus)
    for query in ("escalation policy on-call bridge", "discount approvals 15 percent", "CANARY-1234ABCD"):
        paths = _search(store, embedder, query, Access.public())
        assert paths, query
        assert not [p for p in paths if p.startswith("internal/")], query


def test_search_staff_groups_gate_group_restricted_docs(store: IndexStore, embedder: Embedder,
                                                       settings: Settings, mini_corpus: Path) -> None:
    """Internal docs with groups need a matching group; ungrouped internal docs need staff."""
    _ingest(store, embedder, settings, mini_corpus)
    no_group = set(_search(store, embedder, "escalation discount", Access.staff()))
    support = set(_search(store, embedder, "escalation discount", Access.staff(frozenset({"support"}))))
    admin = set(_search(store, embedder, "escalation discount", Access.staff(all_groups=True)))
    assert "internal/discounts.md" in no_group and "internal/escalation.md" not in no_group
    assert {"internal/discounts.md", "internal/escalation.md"} <= support
    assert {"internal/discounts.md", "internal/escalation.md"} <= admin


def test_search_hybrid_ranks_exact_term_and_reports_similarity(store: IndexStore, embedder: Embedder,
                                                               settings: Settings, mini_corpus: Path) -> None:
    """Hybrid search finds the section with the exact term and carries a dense similarity."""
    _ingest(store, embedder, settings, mini_corpus)
    index = store.open_active()
    assert index is not None
    text = "Where does the SOCKS5 password go?"
    indices, values = Bm25Encoder().query(text)
    hits = index.search(SearchQuery(embedder.embed_query(text), indices, values, Access.public(), limit=3))
    assert hits[0].payload["heading_path"][-1] in {"Authentication", "SOCKS5"}
    assert 0.2 < hits[0].similarity <= 1.0


def test_rebuild_switches_alias_only_when_complete(store: IndexStore, embedder: Embedder, settings: Settings,
                                                   mini_corpus: Path) -> None:
    """A rebuild writes a new collection; readers see the old one until it is promoted."""
    _ingest(store, embedder, settings, mini_corpus)
    old = store.open_active()
    assert old is not None
    old_name, old_count = old.name, old.count()
    build = store.new_build(IndexMeta(embedder.name, embedder.dim))
    assert store.open_active().name == old_name  # type: ignore[union-attr]
    assert build.count() == 0
    _ingest(store, embedder, settings, mini_corpus, rebuild=True)
    new = store.open_active()
    assert new is not None
    assert new.name != old_name
    assert new.count() == old_count


def test_active_refuses_a_different_embedding_model(store: IndexStore, embedder: Embedder, settings: Settings,
                                                    mini_corpus: Path) -> None:
    """Opening an index built by another model (or dimension) fails with a rebuild hint."""
    _ingest(store, embedder, settings, mini_corpus)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        store.active(IndexMeta("another-model", 768))
