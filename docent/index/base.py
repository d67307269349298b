"""What every index backend offers the writer and the readers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from docent.errors import IndexMismatchError
from docent.schema import DENSE_VECTOR, SPARSE_VECTOR, Access, Hit, IndexedPoint, IndexMeta

SearchMode = Literal["hybrid", "dense", "sparse"]


def check_compatible(built: IndexMeta, embedder: IndexMeta) -> None:
    """IndexMismatchError unless an index ``built`` with one embedder can take ``embedder``'s vectors.

    The one rule for writers (``IndexStore.active``) and readers (the retriever): the
    model must match as well as the dimension, since same-size vectors from another
    model would search without error and return nonsense.
    """
    if (built.embed_model, built.dim) != (embedder.embed_model, embedder.dim):
        raise IndexMismatchError(
            f"The index was built with {built.embed_model} ({built.dim} dims) but the embedder is "
            f"{embedder.embed_model} ({embedder.dim} dims). Rebuild it with `docent ingest --rebuild` "
            "(or POST /v1/admin/ingest with rebuild=true) to re-embed everything into a new collection.")


def scan_pages(scroll: Callable[[Any], tuple[list[Any], Any]]) -> Iterator[list[IndexedPoint]]:
    """Every point, a page at a time, from either backend's ``scroll(offset) -> (records, next)``."""
    offset: Any = None
    while True:
        records, offset = scroll(offset)
        if records:
            yield [_point(r.id, r.vector, r.payload) for r in records]
        if offset is None or not records:
            return


def _point(point_id: object, vectors: Any, payload: Any) -> IndexedPoint:
    vectors = vectors or {}
    sparse = vectors.get(SPARSE_VECTOR)
    return IndexedPoint(str(point_id), list(vectors[DENSE_VECTOR]), list(sparse.indices) if sparse else [],
                        list(sparse.values) if sparse else [], dict(payload or {}))


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A retrieval request, already embedded."""

    dense: list[float]
    sparse_indices: list[int]
    sparse_values: list[float]
    access: Access
    limit: int = 8
    mode: SearchMode = "hybrid"
    # How many candidates each branch contributes before fusion.
    prefetch: int = 30
    # Relative RRF weights for (dense, sparse).
    weights: tuple[float, float] = (1.0, 1.0)


@dataclass(slots=True)
class DocEntry:
    """What the index holds for one source document."""

    doc_hash: str
    ids: set[str] = field(default_factory=set)


class Index(Protocol):
    """One collection: chunks with a dense and a BM25 vector and a payload."""

    meta: IndexMeta
    name: str

    def upsert(self, points: list[IndexedPoint]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def overwrite_payload(self, ids: list[str], payload: dict[str, Any]) -> None:
        """Set doc-level fields on chunks whose text did not change."""
        ...

    def inventory(self) -> dict[str, DocEntry]:
        """doc_path -> its doc hash and chunk ids, read from the index itself."""
        ...

    def search(self, query: SearchQuery) -> list[Hit]: ...

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Stored payloads by chunk id (missing ids are absent from the result)."""
        ...

    def count(self) -> int: ...

    def flush(self) -> None: ...

    def optimize(self) -> None:
        """Build indexes (HNSW) for points written since the last call; may take seconds."""
        ...


class IndexStore(Protocol):
    """Collections behind an alias, so a rebuild is swapped in only when complete."""

    def active(self, meta: IndexMeta) -> Index:
        """The collection searches read, created on first use; refuses a different embedder."""
        ...

    def open_active(self) -> Index | None:
        """The active collection if one exists, without creating it."""
        ...

    def new_build(self, meta: IndexMeta) -> Index:
        """A fresh, unaliased collection for ``--rebuild``."""
        ...

    def promote(self, index: Index) -> None:
        """Point the alias at ``index`` and drop the collection it replaced."""
        ...

    def healthy(self) -> bool: ...

    def close(self) -> None: ...
