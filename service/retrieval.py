"""Hybrid retrieval over the index, filtered by what the caller may see."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from docent.embedder import Embedder
from docent.errors import DocentError, StoreUnavailableError
from docent.index.base import Index, IndexStore, SearchMode, SearchQuery
from docent.schema import Access, Hit
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

        /readyz asks the same question, so readiness and search never disagree.
        """
        index = self.store.open_active()
        if index is None:
            raise StoreUnavailableError("The documentation index is empty. Run `docent ingest` first.")
        if (index.meta.embed_model, index.meta.dim) != (self.embedder.name, self.embedder.dim):
            # Same-size vectors from another model would search without error and return nonsense.
            raise StoreUnavailableError(
                f"The index was built with {index.meta.embed_model} ({index.meta.dim} dims) but queries are "
                f"embedded with {self.embedder.name} ({self.embedder.dim} dims). Rebuild it with "
                "`docent ingest --rebuild` (or POST /v1/admin/ingest with rebuild=true).")
        return index

    def search(self, query: str, access: Access, top_k: int) -> Retrieval:
        """Blocking: call from a worker thread in async code."""
        index = self.searchable_index()
        t0 = time.perf_counter()
        dense = self.embedder.embed_query(query)
        indices, values = self.sparse.query(query)
        t1 = time.perf_counter()
        try:
            hits = index.search(SearchQuery(dense, indices, values, access, limit=top_k, mode=self.mode,
                                            prefetch=self.prefetch, weights=self.weights))
        except DocentError:
            raise
        except Exception as exc:  # the engine's own error: unreachable server, damaged files
            mark_failed = getattr(self.store, "mark_failed", None)
            if mark_failed is not None:
                mark_failed(exc)
            raise StoreUnavailableError("The documentation index cannot be read right now; retry shortly.") from exc
        t2 = time.perf_counter()
        # Defence in depth: the filter already did this, and nothing relies on this line.
        hits = [h for h in hits if access.allows(str(h.payload.get("visibility")), h.payload.get("groups") or [])]
        return Retrieval(query, hits, (t1 - t0) * 1000, (t2 - t1) * 1000)
