"""An IndexStore that survives its backend going away and coming back.

The service must start, report itself not ready, and recover on its own when the
store is locked by another process, corrupt, or (server mode) unreachable. This
wrapper opens the backend lazily, turns backend failures into
``StoreUnavailableError`` (HTTP 503 with Retry-After), drops a backend that failed,
and tries to open it again at most once every ``retry_s`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from docent.errors import DocentError, StoreUnavailableError
from docent.index.base import Index, IndexStore
from docent.schema import IndexMeta

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    def mark_failed(self, exc: BaseException) -> None:
        """A read on the backend failed: drop it so the next call reopens it.

        A server store's client would reconnect by itself, but an embedded store whose
        files broke must be reopened; doing the same for both keeps one code path.
        """
        with self._lock:
            backend, self._backend = self._backend, None
            self._problem = "The documentation index cannot be read right now; retry shortly."
            self._next_try = self._clock() + self._retry_s
        log.warning("index store failed (%s: %s); it will be reopened", type(exc).__name__, str(exc)[:300])
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.close()

    def _call(self, op: Callable[[IndexStore], T]) -> T:
        backend = self._ensure()
        try:
            return op(backend)
        except StoreUnavailableError as exc:
            log.warning("index store not available: %s", exc)
            raise StoreUnavailableError(_without_paths(str(exc))) from exc
        except DocentError:
            raise
        except Exception as exc:
            self.mark_failed(exc)
            raise StoreUnavailableError("The documentation index cannot be read right now; retry shortly.") from exc

    def active(self, meta: IndexMeta) -> Index:
        return self._call(lambda b: b.active(meta))

    def open_active(self) -> Index | None:
        return self._call(lambda b: b.open_active())

    def new_build(self, meta: IndexMeta) -> Index:
        return self._call(lambda b: b.new_build(meta))

    def promote(self, index: Index) -> None:
        self._call(lambda b: b.promote(index))

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
