"""The server backend: a Qdrant server or cluster through qdrant-client.

Same data model as the embedded store: a named dense vector, a named ``bm25`` sparse
vector with the IDF modifier, keyword payload indexes, and an alias that a rebuild
switches only when the new collection is complete. qdrant-client's own local mode
speaks the same API, which is how tests exercise this code without a server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from qdrant_client import QdrantClient, models

from docent.errors import StoreUnavailableError
from docent.index.base import DocEntry, Index, SearchQuery, check_compatible, scan_pages
from docent.schema import (
    BOOKKEEPING_FIELDS,
    DENSE_VECTOR,
    KEYWORD_FIELDS,
    SPARSE_VECTOR,
    Access,
    Hit,
    IndexedPoint,
    IndexMeta,
)
from docent.settings import IndexSettings

_SCROLL_PAGE = 2048


def access_filter(access: Access) -> models.Filter:
    """The visibility/group rule in qdrant-client's model (mirrors edge.access_filter)."""
    visibility = models.FieldCondition(
        key="visibility", match=models.MatchAny(any=sorted(access.visibilities))
    )
    if "internal" not in access.visibilities or access.all_groups:
        return models.Filter(must=[visibility])
    open_to_caller: list[Any] = [
        models.FieldCondition(key="visibility", match=models.MatchValue(value="public")),
        models.IsEmptyCondition(is_empty=models.PayloadField(key="groups")),
    ]
    if access.groups:
        open_to_caller.append(models.FieldCondition(key="groups", match=models.MatchAny(any=sorted(access.groups))))
    return models.Filter(must=[visibility, models.Filter(should=open_to_caller)])


class ServerIndex:
    """One Qdrant collection."""

    def __init__(self, client: QdrantClient, name: str, meta: IndexMeta) -> None:
        self._client = client
        self.name = name
        self.meta = meta

    def upsert(self, points: list[IndexedPoint]) -> None:
        if not points:
            return
        self._client.upsert(
            self.name,
            points=[
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE_VECTOR: p.dense,
                        SPARSE_VECTOR: models.SparseVector(indices=p.sparse_indices, values=p.sparse_values),
                    },
                    payload=p.payload,
                )
                for p in points
            ],
            wait=True,
        )

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._client.delete(self.name, points_selector=models.PointIdsList(points=list(ids)), wait=True)

    def overwrite_payload(self, ids: list[str], payload: dict[str, Any]) -> None:
        if ids:
            self._client.set_payload(self.name, payload=payload, points=list(ids), wait=True)

    def inventory(self) -> dict[str, DocEntry]:
        docs: dict[str, DocEntry] = {}
        offset: Any = None
        while True:
            records, offset = self._client.scroll(
                self.name, limit=_SCROLL_PAGE, offset=offset, with_payload=BOOKKEEPING_FIELDS, with_vectors=False
            )
            for record in records:
                payload = record.payload or {}
                entry = docs.setdefault(str(payload.get("doc_path")), DocEntry(str(payload.get("doc_hash"))))
                entry.ids.add(str(record.id))
            if offset is None:
                return docs

    def search(self, query: SearchQuery) -> list[Hit]:
        flt = access_filter(query.access)
        sparse = models.SparseVector(indices=query.sparse_indices, values=query.sparse_values)
        if query.mode == "dense" or not query.sparse_indices:
            main = models.QueryRequest(query=query.dense, using=DENSE_VECTOR, filter=flt, limit=query.limit,
                                       with_payload=True)
        elif query.mode == "sparse":
            main = models.QueryRequest(query=sparse, using=SPARSE_VECTOR, filter=flt, limit=query.limit,
                                       with_payload=True)
        else:
            main = models.QueryRequest(
                prefetch=[
                    models.Prefetch(query=query.dense, using=DENSE_VECTOR, filter=flt, limit=query.prefetch),
                    models.Prefetch(query=sparse, using=SPARSE_VECTOR, filter=flt, limit=query.prefetch),
                ],
                query=models.RrfQuery(rrf=models.Rrf(k=60, weights=list(query.weights))),
                filter=flt,
                limit=query.limit,
                with_payload=True,
            )
        cosine = models.QueryRequest(query=query.dense, using=DENSE_VECTOR, filter=flt, limit=query.prefetch)
        # A failure here is the client's own error; ResilientStore (the service's store) turns it
        # into StoreUnavailableError with ``ServerStore.failure_message``.
        fused, dense_hits = self._client.query_batch_points(self.name, requests=[main, cosine])
        similarity = {str(p.id): p.score for p in dense_hits.points}
        return [
            Hit(str(p.id), float(p.score), dict(p.payload or {}), similarity.get(str(p.id), 0.0))
            for p in fused.points
        ]

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        records = self._client.retrieve(self.name, ids=list(ids), with_payload=True) if ids else []
        return {str(r.id): dict(r.payload or {}) for r in records}

    def scan(self, page_size: int = 256) -> Iterator[list[IndexedPoint]]:
        """Every point with its vectors and payload, a page at a time (``docent index migrate``)."""
        return scan_pages(lambda offset: self._client.scroll(
            self.name, limit=page_size, offset=offset, with_payload=True, with_vectors=True))

    def count(self) -> int:
        return int(self._client.count(self.name, exact=True).count)

    def flush(self) -> None:
        """Writes use ``wait=True``; nothing is buffered client-side."""

    def optimize(self) -> None:
        """The server's own optimizer indexes in the background."""


class ServerStore:
    """Collections named ``<alias>-<stamp>`` behind the alias ``settings.collection``."""

    # What a failed call on this backend tells the caller (ResilientStore reads it too).
    failure_message: ClassVar[str] = "The Qdrant server is unreachable; retry shortly."

    def __init__(self, client: QdrantClient, settings: IndexSettings) -> None:
        self._client = client
        self._settings = settings
        self.alias = settings.collection

    @classmethod
    def connect(cls, settings: IndexSettings) -> ServerStore:
        client = QdrantClient(url=settings.url, api_key=settings.api_key, timeout=int(settings.timeout_s))
        return cls(client, settings)

    def _alias_target(self) -> str | None:
        """The alias's collection. The first call of every operation, so an unreachable server
        is reported here, as a domain error, for callers of the bare backend too (the CLI)."""
        try:
            aliases = self._client.get_aliases().aliases
        except Exception as exc:
            raise StoreUnavailableError(self.failure_message) from exc
        return next((a.collection_name for a in aliases if a.alias_name == self.alias), None)

    def _load(self, name: str) -> ServerIndex:
        info = self._client.get_collection(name)
        raw = info.config.metadata or {}
        meta = IndexMeta(str(raw.get("embed_model", "?")), int(raw.get("dim", 0)), int(raw.get("schema_version", 1)))
        return ServerIndex(self._client, name, meta)

    def open_active(self) -> ServerIndex | None:
        target = self._alias_target()
        return self._load(target) if target else None

    def active(self, meta: IndexMeta) -> ServerIndex:
        index = self.open_active()
        if index is None:
            index = self.new_build(meta)
            self.promote(index)
        else:
            check_compatible(index.meta, meta)
        return index

    def new_build(self, meta: IndexMeta) -> ServerIndex:
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.monotonic_ns() % 100000}"
        self._client.create_collection(
            name,
            vectors_config={DENSE_VECTOR: models.VectorParams(size=meta.dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=self._settings.shard_number,
            replication_factor=self._settings.replication_factor,
            metadata={"embed_model": meta.embed_model, "dim": meta.dim, "schema_version": meta.schema_version},
        )
        for field in KEYWORD_FIELDS:
            self._client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD)
        return ServerIndex(self._client, name, meta)

    def promote(self, index: Index) -> None:
        previous = self._alias_target()
        actions: list[Any] = []
        if previous:
            actions.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias)))
        actions.append(models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=index.name, alias_name=self.alias)))
        # One request: the alias moves atomically, so readers never see it missing.
        self._client.update_collection_aliases(change_aliases_operations=actions)
        if previous and previous != index.name:
            self._client.delete_collection(previous)

    def healthy(self) -> bool:
        try:
            return self.open_active() is not None
        except Exception:  # noqa: BLE001 - health is a yes/no question
            return False

    def close(self) -> None:
        self._client.close()
