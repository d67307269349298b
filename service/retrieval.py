"""Hybrid retrieval over the index, filtered by what the caller may see."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from docent.embedder import Embedder
from docent.errors import IndexMismatchError, StoreUnavailableError
from docent.index.base import Index, IndexStore, SearchMode, SearchQuery, check_compatible
from docent.schema import Access, Hit, IndexMeta
from docent.sparse import Bm25Encoder


class Reranker(Protocol):
    """Reorders retrieved hits; off by default (no cross-encoder ships its weights on PyPI)."""

    async def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


@dataclass(slots=True)
class Retrieval:
    """The hits for one query and how long finding them took."""

    query: str
    hits: list[Hit]
    embed_ms: float = 0.0
    search_ms: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def top_similarity(self) -> float:
        return max((h.similarity for h in self.hits), default=0.0)


TIE_MARGIN = 4  # hits fetched past top_k, so a tie at the cut-off is decided here, not by the engine


class Retriever:
    """Embeds a query (dense + BM25) and searches the active collection."""

    def __init__(self, store: IndexStore, embedder: Embedder, sparse: Bm25Encoder, *, prefetch: int = 30,
                 mode: SearchMode = "hybrid", weights: tuple[float, float] = (1.0, 1.0)) -> None:
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.prefetch = prefetch
        self.mode = mode
        self.weights = weights

    def searchable_index(self) -> Index:
        """The active collection, if queries can search it; else StoreUnavailableError saying why.

        /readyz asks the same question, so readiness and search never disagree. The store
        (``ResilientStore`` in the service) reports its own failures, on this call and on
        the index's reads, as StoreUnavailableError.
        """
        index = self.store.open_active()
        if index is None:
            raise StoreUnavailableError("The documentation index is empty. Run `docent ingest` first.")
        try:
            check_compatible(index.meta, IndexMeta(self.embedder.name, self.embedder.dim))
        except IndexMismatchError as exc:  # for queries, an index of another model is as good as none
            raise StoreUnavailableError(str(exc)) from exc
        return index

    def search(self, query: str, access: Access, top_k: int) -> Retrieval:
        """Blocking: call from a worker thread in async code."""
        index = self.searchable_index()
        t0 = time.perf_counter()
        dense = self.embedder.embed_query(query)
        indices, values = self.sparse.query(query)
        t1 = time.perf_counter()
        # A few extra hits, then ties broken by chunk id: fused scores tie often (RRF ranks),
        # and the engine orders a tie arbitrarily, so the same question could get different
        # sources (and prompts) from one call to the next, which also defeats eval's reuse.
        found = index.search(SearchQuery(dense, indices, values, access, limit=top_k + TIE_MARGIN, mode=self.mode,
                                         prefetch=self.prefetch, weights=self.weights))
        hits = sorted(found, key=lambda h: (-h.score, h.chunk_id))[:top_k]
        t2 = time.perf_counter()
        # Defence in depth: the filter already did this, and nothing relies on this line.
        hits = [h for h in hits if access.allows(str(h.payload.get("visibility")), h.payload.get("groups") or [])]
        return Retrieval(query, hits, (t1 - t0) * 1000, (t2 - t1) * 1000)
