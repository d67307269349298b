"""Sliding-window rate limits: the ``Limiter`` interface and its in-memory (per-process) form.

Good enough for one API process: each key keeps the timestamps of its recent hits.
Several workers each count separately, so the effective limit is per worker; with
``DOCENT_REDIS_URL`` set, ``service.shared_state.RedisLimiter`` counts for all of
them behind the same ``hit``/``wait`` methods.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from fastapi import Request

from docent.errors import RateLimitedError


class Limiter(Protocol):
    """At most ``limit`` hits per ``window_s`` seconds for each key."""

    limit: int
    window_s: float

    def hit(self, key: str) -> float | None:
        """Count one hit; ``None`` if allowed, else seconds until one is allowed (a refusal is not counted)."""

    def wait(self, key: str) -> float | None:
        """Like ``hit`` without counting."""


class SlidingWindowLimiter:
    """At most ``limit`` hits per ``window_s`` seconds for each key."""

    # Above this many keys, idle ones are swept, so random IPs cannot grow memory forever.
    _SWEEP_AT = 10_000

    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one hit for ``key``; ``None`` if allowed, else seconds until one is allowed.

        A refused hit is not counted, so a client that waits out Retry-After gets in.
        """
        now = self._clock()
        with self._lock:
            window = self._hits.get(key)
            if window is None:
                if len(self._hits) >= self._SWEEP_AT:
                    self._sweep(now)
                window = self._hits[key] = deque()
            while window and window[0] <= now - self.window_s:
                window.popleft()
            if len(window) >= self.limit:
                return max(window[0] + self.window_s - now, 0.001)
            window.append(now)
            return None

    def wait(self, key: str) -> float | None:
        """Like ``hit`` without counting: ``None`` if a hit would be allowed now, else the wait."""
        now = self._clock()
        with self._lock:
            window = self._hits.get(key)
            while window and window[0] <= now - self.window_s:
                window.popleft()
            if window is None or len(window) < self.limit:
                return None
            return max(window[0] + self.window_s - now, 0.001)

    def _sweep(self, now: float) -> None:
        stale = [k for k, w in self._hits.items() if not w or w[-1] <= now - self.window_s]
        for key in stale:
            del self._hits[key]


def retry_after_header(seconds: float) -> str:
    """Retry-After wants whole seconds; round up so the retry is not refused again."""
    return str(max(1, math.ceil(seconds)))


def enforce(limiter: Limiter, key: str, what: str) -> None:
    """Count a hit for ``key``; over the limit, 429 with Retry-After ("from this <what>")."""
    wait = limiter.hit(key)
    if wait is not None:
        header = retry_after_header(wait)
        raise RateLimitedError(f"Too many requests from this {what}; retry in {header} s.", int(header))


def client_address(request: Request) -> str:
    """The address limits are counted for: the TCP peer, or the client a trusted proxy names.

    uvicorn rewrites ``request.client`` from X-Forwarded-For only for peers listed in
    ``trusted_proxies`` (``docent.serving``); from anyone else the header is ignored.
    """
    return request.client.host if request.client else "unknown"


class FailedAuthThrottle:
    """Failed authentications per client address; over the limit, that address is refused.

    While an address has ``limit`` failures in the last minute, any credential it sends
    (staff key or widget token) gets 429 + Retry-After before being checked, so keys
    cannot be guessed faster than that. Requests without credentials are not affected.
    """

    def __init__(self, limit_per_minute: int, clock: Callable[[], float] = time.monotonic, *,
                 limiter: Limiter | None = None) -> None:
        # ``limiter`` (a shared one, several workers) replaces the per-process count.
        self._failures = limiter or SlidingWindowLimiter(limit_per_minute, 60.0, clock)

    def check(self, address: str) -> None:
        """429 while ``address`` is over its failure budget."""
        wait = self._failures.wait(address)
        if wait is not None:
            header = retry_after_header(wait)
            raise RateLimitedError(f"Too many failed sign-ins from this address; retry in {header} s.", int(header))

    def failed(self, address: str) -> None:
        """Count one failed authentication from ``address``."""
        self._failures.hit(address)
