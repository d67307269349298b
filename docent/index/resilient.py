"""An IndexStore that survives its backend going away and coming back.

The service must start, report itself not ready, and recover on its own when the
store is locked by another process, corrupt, or (server mode) unreachable. This
wrapper opens the backend lazily, drops a backend that failed, and tries to open it
again at most once every ``retry_s`` seconds.

It is the one place that turns the backend's own failures into ``StoreUnavailableError``
(HTTP 503 with Retry-After): those of the store's calls, and those of reads on the
indexes it hands out (``search``, ``payloads``, ``inventory``, ``count``), which is why
it wraps them. Callers such as the retriever never handle an engine's exceptions.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from docent.errors import DocentError, StoreUnavailableError
from docent.index.base import DocEntry, Index, IndexStore, SearchQuery
from docent.schema import Hit, IndexedPoint, IndexMeta

log = logging.getLogger(__name__)
T = TypeVar("T")


# What a failed read says, unless the backend names its own (``failure_message``).
READ_FAILED = "The documentation index cannot be read right now; retry shortly."
_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.@+-]+/)*[\w.@+-]+")


def _without_paths(message: str) -> str:
    """The message minus filesystem paths: it reaches public callers in 503s and /readyz."""
    return _PATH.sub("(path in the server log)", message)


class ResilientStore:
    """``IndexStore`` over an opener; the backend is (re)built on demand."""

    def __init__(self, opener: Callable[[], IndexStore], *, retry_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._opener = opener
        self._retry_s = retry_s
        self._clock = clock
        self._lock = threading.RLock()
        self._backend: IndexStore | None = None
        self._problem = "The documentation index has not been opened yet."
        self._next_try = 0.0
        self._closed = False
        with contextlib.suppress(DocentError):  # not open yet is a state, not an error
            self._ensure()

    @property
    def problem(self) -> str | None:
        """Why the store is unavailable (a safe message), or None while it is open."""
        return None if self._backend is not None else self._problem

    def _ensure(self) -> IndexStore:
        with self._lock:
            if self._backend is not None:
                return self._backend
            if self._closed:
                raise StoreUnavailableError("The service is shutting down.")
            now = self._clock()
            if now >= self._next_try:
                self._next_try = now + self._retry_s
                try:
                    self._backend = self._opener()
                    log.info("index store opened")
                    return self._backend
                except DocentError as exc:
                    log.warning("index store not available: %s", exc)  # the full message, paths included
                    self._problem = _without_paths(str(exc))
                except Exception as exc:  # a corrupt store raises whatever its engine raises
                    log.warning("opening the index store failed: %s: %s", type(exc).__name__, exc)
                    self._problem = "The documentation index cannot be opened (it may be damaged); retry shortly."
            raise StoreUnavailableError(self._problem)

    def _failed(self, backend: IndexStore, exc: Exception) -> StoreUnavailableError:
        """A call on ``backend`` failed: drop it so the next call reopens it; the error to raise.

        A server store's client would reconnect by itself, but an embedded store whose
        files broke must be reopened; doing the same for both keeps one code path.
        """
        message = str(getattr(backend, "failure_message", READ_FAILED))
        with self._lock:
            current = self._backend is backend  # not one that a reopen has replaced already
            if current:
                self._backend = None
                self._problem = message
                self._next_try = self._clock() + self._retry_s
        log.warning("index store failed (%s: %s); it will be reopened", type(exc).__name__, str(exc)[:300])
        if current:
            with contextlib.suppress(Exception):
                backend.close()
        return StoreUnavailableError(message)

    def _guard(self, backend: IndexStore, op: Callable[[], T]) -> T:
        """Run ``op`` against ``backend``; its failures leave as ``StoreUnavailableError``."""
        try:
            return op()
        except StoreUnavailableError as exc:  # the backend's own report: paths stay in the log
            log.warning("index store not available: %s", exc)
            raise StoreUnavailableError(_without_paths(str(exc))) from exc
        except DocentError:
            raise
        except Exception as exc:  # the engine's own error: unreachable server, damaged files
            raise self._failed(backend, exc) from exc

    def _call(self, op: Callable[[IndexStore], T]) -> T:
        backend = self._ensure()
        return self._guard(backend, lambda: op(backend))

    def _index(self, op: Callable[[IndexStore], Index]) -> GuardedIndex:
        backend = self._ensure()
        return GuardedIndex(self._guard(backend, lambda: op(backend)), self, backend)

    def active(self, meta: IndexMeta) -> Index:
        return self._index(lambda b: b.active(meta))

    def open_active(self) -> Index | None:
        backend = self._ensure()
        index = self._guard(backend, backend.open_active)
        return None if index is None else GuardedIndex(index, self, backend)

    def new_build(self, meta: IndexMeta) -> Index:
        return self._index(lambda b: b.new_build(meta))

    def promote(self, index: Index) -> None:
        inner = index.inner if isinstance(index, GuardedIndex) else index
        self._call(lambda b: b.promote(inner))

    def healthy(self) -> bool:
        try:
            return self._call(lambda b: b.healthy())
        except DocentError:
            return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()


class GuardedIndex:
    """An index handed out by ``ResilientStore``: reads run under its guard, writes go straight through.

    A read that fails marks the store failed and raises ``StoreUnavailableError``; a
    write's error reaches the ingest that made it unchanged.
    """

    def __init__(self, inner: Index, store: ResilientStore, backend: IndexStore) -> None:
        self.inner = inner
        self.meta = inner.meta
        self.name = inner.name
        self._store = store
        self._backend = backend  # the one ``inner`` came from: only its failure drops it

    def _read(self, op: Callable[[], T]) -> T:
        return self._store._guard(self._backend, op)

    def search(self, query: SearchQuery) -> list[Hit]:
        return self._read(lambda: self.inner.search(query))

    def payloads(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        return self._read(lambda: self.inner.payloads(ids))

    def inventory(self) -> dict[str, DocEntry]:
        return self._read(self.inner.inventory)

    def count(self) -> int:
        return self._read(self.inner.count)

    def upsert(self, points: list[IndexedPoint]) -> None:
        self.inner.upsert(points)

    def delete(self, ids: list[str]) -> None:
        self.inner.delete(ids)

    def overwrite_payload(self, ids: list[str], payload: dict[str, Any]) -> None:
        self.inner.overwrite_payload(ids, payload)

    def flush(self) -> None:
        self.inner.flush()

    def optimize(self) -> None:
        self.inner.optimize()
