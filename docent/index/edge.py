"""The embedded backend: qdrant-edge shards in folders under the data dir.

Chosen over qdrant-client's local mode on measured numbers (ARCHITECTURE.md): it is
Qdrant's own storage engine with HNSW, payload indexes, sparse vectors with IDF and
prefetch + RRF fusion, where local mode is a numpy scan.

Layout::

    <store>/.lock                 exclusive process lock (see lock.py)
    <store>/ACTIVE                name of the collection searches read (the "alias")
    <store>/collections/<name>/   one shard + meta.json per collection
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from docent.errors import StoreUnavailableError
from docent.index.base import DocEntry, Index, SearchQuery, check_compatible, scan_pages
from docent.index.lock import StoreLock
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

_SCROLL_PAGE = 2048
RETIRE_GRACE_S = 30.0


def access_filter(access: Access) -> qe.Filter:
    """The visibility/group rule as a Qdrant filter; every search goes through it."""
    visibility = qe.FieldCondition("visibility", match=qe.MatchAny([str(v) for v in sorted(access.visibilities)]))
    if "internal" not in access.visibilities or access.all_groups:
        return qe.Filter(must=[visibility])
    open_to_caller: list[Any] = [
        qe.FieldCondition("visibility", match=qe.MatchValue("public")),
        qe.IsEmptyCondition("groups"),
    ]
    if access.groups:
        open_to_caller.append(qe.FieldCondition("groups", match=qe.MatchAny(sorted(access.groups))))
    return qe.Filter(must=[visibility, qe.Filter(should=open_to_caller)])


class EdgeIndex:
    """One qdrant-edge shard."""

    def __init__(self, name: str, folder: Path, meta: IndexMeta, shard: qe.EdgeShard) -> None:
        self.name = name
        self.folder = folder
        self.meta = meta
        self._shard = shard
        # The shard serves concurrent reads; writes are serialised here.
        self._write = threading.Lock()

    @classmethod
    def create(cls, name: str, folder: Path, meta: IndexMeta) -> EdgeIndex:
        config = qe.EdgeConfig(
            vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=meta.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        folder.mkdir(parents=True, exist_ok=True)
        shard = qe.EdgeShard.create(str(folder / "shard"), config)
        for field in KEYWORD_FIELDS:
            shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        shard.flush()
        # meta.json is written last: a folder without it is an unfinished create.
        _write_json_atomic(folder / "meta.json", {"embed_model": meta.embed_model, "dim": meta.dim,
                                                   "schema_version": meta.schema_version})
        return cls(name, folder, meta, shard)

    @classmethod
    def load(cls, name: str, folder: Path) -> EdgeIndex:
        try:
            raw = json.loads((folder / "meta.json").read_text())
            meta = IndexMeta(raw["embed_model"], int(raw["dim"]), int(raw.get("schema_version", 1)))
            shard = qe.EdgeShard.load(str(folder / "shard"))
        except Exception as exc:  # a corrupt or half-deleted store is an availability problem
            raise StoreUnavailableError(
                f"The embedded index at {folder} cannot be opened ({type(exc).__name__}). "
                "Run `docent ingest --rebuild` to rebuild it from the docs."
            ) from exc
        return cls(name, folder, meta, shard)

    def upsert(self, points: list[IndexedPoint]) -> None:
        if not points:
            return
        batch = [
            qe.Point(
                p.id,
                {DENSE_VECTOR: p.dense, SPARSE_VECTOR: qe.SparseVector(p.sparse_indices, p.sparse_values)},
                p.payload,
            )
            for p in points
        ]
        with self._write:
            self._shard.update(qe.UpdateOperation.upsert_points(batch))

    def delete(self, ids: list[str]) -> None:
        if ids:
            with self._write:
                self._shard.update(qe.UpdateOperation.delete_points(list(ids)))

    def overwrite_payload(self, ids: list[str], payload: dict[str, Any]) -> None:
        if ids:
            with self._write:
                self._shard.update(qe.UpdateOperation.set_payload(list(ids), payload))

    def inventory(self) -> dict[str, DocEntry]:
        docs: dict[str, DocEntry] = {}
        offset: Any = None
        while True:
            records, offset = self._shard.scroll(
                qe.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, with_payload=BOOKKEEPING_FIELDS,
                                 with_vector=False)
            )
            for record in records:
                payload = record.payload or {}
                entry = docs.setdefault(str(payload.get("doc_path")), DocEntry(str(payload.get("doc_hash"))))
                entry.ids.add(str(record.id))
            if offset is None or not records:
                return docs

    def search(self, query: SearchQuery) -> list[Hit]:
        flt = access_filter(query.access)
        dense = qe.Query.Nearest(query.dense, using=DENSE_VECTOR)
        sparse = qe.Query.Nearest(qe.SparseVector(query.sparse_indices, query.sparse_values),
                                  using=SPARSE_VECTOR)
        if query.mode == "dense" or not query.sparse_indices:
            main = qe.QueryRequest(limit=query.limit, query=dense, filter=flt, with_payload=True)
        elif query.mode == "sparse":
            main = qe.QueryRequest(limit=query.limit, query=sparse, filter=flt, with_payload=True)
        else:
            main = qe.QueryRequest(
                limit=query.limit,
                # qdrant-edge 0.9 stubs nest Rrf inside Fusion without subclassing it; it is accepted at run time.
                query=qe.Fusion.Rrf(k=60, weights=list(query.weights)),  # type: ignore[arg-type]
                prefetches=[
                    qe.Prefetch(limit=query.prefetch, query=dense, filter=flt),
                    qe.Prefetch(limit=query.prefetch, query=sparse, filter=flt),
                ],
                filter=flt,
                with_payload=True,
            )
        # The dense cosine rides along: fused RRF scores are ranks, while the abstention
        # threshold needs an absolute relevance signal.
        cosine = qe.QueryRequest(limit=query.prefetch, query=dense, filter=flt, with_payload=False)
        fused, dense_hits = self._shard.query_batch(qe.QueryBatchRequest([main, cosine]))
        similarity = {str(p.id): p.score for p in dense_hits}
        return [
            Hit(str(p.id), float(p.score), dict(p.payload or {}), similarity.get(str(p.id), 0.0))
            for p in fused
        ]

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        records = self._shard.retrieve(list(ids), with_payload=True, with_vector=False) if ids else []
        return {str(r.id): dict(r.payload or {}) for r in records}

    def scan(self, page_size: int = 256) -> Iterator[list[IndexedPoint]]:
        """Every point with its vectors and payload, a page at a time (``docent index migrate``)."""
        return scan_pages(lambda offset: self._shard.scroll(
            qe.ScrollRequest(offset=offset, limit=page_size, with_payload=True, with_vector=True)))

    def count(self) -> int:
        return int(self._shard.count(qe.CountRequest(exact=True)))

    def flush(self) -> None:
        with self._write:
            self._shard.flush()

    def optimize(self) -> None:
        # Fresh points sit in an unindexed segment and are found by full scan (75 ms
        # p50 at 100k vs 20 ms once HNSW is built); searches keep running meanwhile.
        self._shard.optimize()

    def close(self) -> None:
        with self._write:
            self._shard.close()


class EdgeStore:
    """Collections under one folder, guarded by one process lock."""

    def __init__(self, root: Path, role: str, lock_info: dict[str, Any] | None = None) -> None:
        self.root = root
        self._lock = StoreLock(root, role, lock_info)
        self._open: dict[str, EdgeIndex] = {}
        # Collections replaced by a rebuild, kept open for RETIRE_GRACE_S so a search
        # that picked the old one just before the switch finishes on it.
        self._retired: list[tuple[float, EdgeIndex]] = []
        (root / "collections").mkdir(parents=True, exist_ok=True)
        self._sweep()

    def _sweep(self) -> None:
        """Drop collections left behind by a crashed rebuild or an interrupted promote."""
        active = self._active_name()
        for folder in (self.root / "collections").iterdir():
            if folder.name != active:
                shutil.rmtree(folder, ignore_errors=True)

    def _active_name(self) -> str | None:
        try:
            name = (self.root / "ACTIVE").read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def _get(self, name: str) -> EdgeIndex:
        if name not in self._open:
            self._open[name] = EdgeIndex.load(name, self.root / "collections" / name)
        return self._open[name]

    def _reap(self, everything: bool = False) -> None:
        """Close and delete retired collections whose grace period is over."""
        now = time.monotonic()
        keep = []
        for retired_at, index in self._retired:
            if everything or now - retired_at >= RETIRE_GRACE_S:
                with contextlib.suppress(Exception):
                    index.close()
                shutil.rmtree(self.root / "collections" / index.name, ignore_errors=True)
            else:
                keep.append((retired_at, index))
        self._retired = keep

    def open_active(self) -> EdgeIndex | None:
        if self._retired:
            self._reap()
        name = self._active_name()
        if name is None or not (self.root / "collections" / name / "meta.json").exists():
            return None
        return self._get(name)

    def active(self, meta: IndexMeta) -> EdgeIndex:
        index = self.open_active()
        if index is None:
            index = self.new_build(meta)
            self.promote(index)
        else:
            check_compatible(index.meta, meta)
        return index

    def new_build(self, meta: IndexMeta) -> EdgeIndex:
        # Random suffix: a store reopened in the same second and process (an ingest, then a
        # server's rebuild) must never name the new build after the active collection.
        name = f"c{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}-{secrets.token_hex(4)}"
        index = EdgeIndex.create(name, self.root / "collections" / name, meta)
        self._open[name] = index
        return index

    def promote(self, index: Index) -> None:
        index.flush()
        previous = self._active_name()
        _write_text_atomic(self.root / "ACTIVE", index.name)
        if previous and previous != index.name:
            old = self._open.pop(previous, None)
            if old is not None:
                self._retired.append((time.monotonic(), old))
            else:
                shutil.rmtree(self.root / "collections" / previous, ignore_errors=True)

    def healthy(self) -> bool:
        return self.open_active() is not None

    def close(self) -> None:
        self._reap(everything=True)
        for index in self._open.values():
            # Closing is best effort: the write-ahead log covers anything unflushed.
            with contextlib.suppress(Exception):
                index.close()
        self._open.clear()
        self._lock.release()


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    _write_text_atomic(path, json.dumps(data))
