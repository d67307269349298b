"""Search latency as a request sees it: embed the query, BM25 it, hybrid search with a filter.

Both backends are driven through Docent's ``IndexStore``/``Index`` interface: the
embedded ``EdgeStore`` and ``ServerStore`` over qdrant-client's local mode
(``QdrantClient(path=...)``), so the numbers include Docent's own query building.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from bench._report import percentile, stopwatch
from bench._synthetic import SyntheticSet
from docent.embedder import Embedder
from docent.index.base import Index, IndexStore, SearchQuery
from docent.index.edge import EdgeStore
from docent.index.server import ServerStore
from docent.schema import Access, IndexMeta
from docent.settings import IndexSettings
from docent.sparse import Bm25Encoder

UPSERT_BATCH = 1024
MIN_TIMED_QUERIES = 3
ACCESS: dict[str, Access] = {
    "public": Access.public(),
    # Staff in one group: the nested visibility/group filter, the most selective rule.
    "staff[support]": Access.staff(frozenset({"support"})),
}


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds per query: end to end (embed + BM25 + search) and the search call alone."""

    backend: str
    points: int
    access: str
    queries: int
    p50_ms: float
    p95_ms: float
    search_p50_ms: float
    search_p95_ms: float


@dataclass(frozen=True, slots=True)
class Reopen:
    """Close the store, open it again, and run one search (query vectors precomputed)."""

    backend: str
    points: int
    build_s: float
    open_ms: float
    first_search_ms: float


def _local_settings() -> IndexSettings:
    return IndexSettings.model_validate({"collection": "bench"})


# The casts: EdgeStore/ServerStore narrow ``promote``'s parameter to their own index type,
# which the IndexStore protocol does not allow (docent/index/factory.py has the same issue).
def open_edge(root: Path) -> IndexStore:
    return cast(IndexStore, EdgeStore(root, role="bench"))


def open_local(path: Path) -> IndexStore:
    from qdrant_client import QdrantClient

    # Local mode warns that payload indexes are no-ops and that >20k points is a lot: known.
    warnings.filterwarnings("ignore", message="Payload indexes have no effect")
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    return cast(IndexStore, ServerStore(QdrantClient(path=str(path)), _local_settings()))


def open_local_memory() -> IndexStore:
    """Local mode without persistence: the same search code, built without per-point commits."""
    from qdrant_client import QdrantClient

    return cast(IndexStore, ServerStore(QdrantClient(":memory:"), _local_settings()))


def fill(store: IndexStore, meta: IndexMeta, data: SyntheticSet) -> tuple[Index, float]:
    """A new collection holding ``data``, promoted to active; returns it and the seconds taken."""
    with stopwatch() as sw:
        index = store.new_build(meta)
        for batch in data.batches(UPSERT_BATCH):
            index.upsert(batch)
        store.promote(index)
    return index, sw.seconds


def make_query(text: str, embedder: Embedder, bm25: Bm25Encoder, access: Access) -> SearchQuery:
    indices, values = bm25.query(text)
    return SearchQuery(embedder.embed_query(text), indices, values, access)


def time_queries(label: str, points: int, index: Index, embedder: Embedder, queries: list[str],
                 access_name: str, *, warmup: int = 10, budget_s: float | None = None) -> Latency:
    """Latency over ``queries`` after ``warmup`` untimed ones; stops early past ``budget_s``."""
    bm25 = Bm25Encoder()
    access = ACCESS[access_name]
    for text in queries[:warmup]:
        index.search(make_query(text, embedder, bm25, access))
    total: list[float] = []
    search: list[float] = []
    started = time.perf_counter()
    for text in queries:
        t0 = time.perf_counter()
        query = make_query(text, embedder, bm25, access)
        t1 = time.perf_counter()
        index.search(query)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        search.append(t2 - t1)
        if budget_s is not None and t2 - started > budget_s and len(total) >= MIN_TIMED_QUERIES:
            break
    ms = [1000 * s for s in total]
    search_ms = [1000 * s for s in search]
    return Latency(label, points, access_name, len(ms), percentile(ms, 50), percentile(ms, 95),
                   percentile(search_ms, 50), percentile(search_ms, 95))


def reopen(label: str, points: int, build_s: float, opener: Callable[[], IndexStore],
           query: SearchQuery) -> tuple[IndexStore, Index, Reopen]:
    """Open a closed store and time the open and the first search after it."""
    with stopwatch() as opened:
        store = opener()
        index = store.open_active()
    if index is None:
        raise RuntimeError(f"{label}: no active collection after reopening")
    with stopwatch() as first:
        index.search(query)
    return store, index, Reopen(label, points, build_s, 1000 * opened.seconds, 1000 * first.seconds)
