"""State that several API workers share through Redis (``DOCENT_REDIS_URL``).

Without Redis every worker counts its own rate limits, so with N workers each limit is
N times looser, and a widget token secret generated at start-up differs per worker.
With it, these live in Redis:

- ``RedisLimiter``: the sliding-window limiter (``hit``/``wait``, as
  ``service.rate_limit.SlidingWindowLimiter``), one sorted set per key, updated by one
  Lua script so that concurrent workers cannot both slip under the limit. Keys are
  ``docent:rl:<limiter>:<key>`` and expire when idle for a window.
- ``SharedSecret``: the widget token key, when ``widget.token_secret`` is not set.

``SharedState`` is the one Redis client (short timeouts, no retries) and its health.
When Redis cannot be reached, calls fail at once for a second (no 0.25 s wait on every
request), the outage is logged once, and the next call after that probes again, so
service resumes by itself. What a limiter does meanwhile is its ``on_outage`` policy:
``closed`` refuses (429, anonymous callers), ``open`` allows (staff keys), ``local``
counts in this process (failed sign-ins: key guessing stays bounded).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Literal, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from docent.errors import RateLimitedError
from service.rate_limit import Limiter, SlidingWindowLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")
OnOutage = Literal["closed", "open", "local"]

PREFIX = "docent:"
# A dead Redis costs at most this per call (connect or reply), then nothing for BACKOFF_S.
TIMEOUT_S = 0.25
BACKOFF_S = 1.0
# What an anonymous caller is told to wait while rate limits cannot be counted.
OUTAGE_RETRY_AFTER_S = 5
OUTAGE_MESSAGE = ("Rate limits cannot be checked right now (the shared limit store is unreachable), "
                  f"so requests without an API key are refused; retry in {OUTAGE_RETRY_AFTER_S} s.")

# KEYS[1]: the key's sorted set of hit times (ms, Redis's own clock, so workers on
# different hosts agree). ARGV: window ms, limit, a unique member, 1 to count the hit.
# Returns -1 when allowed (and counted), else the ms until the oldest hit leaves the window.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + window - now, 1)
end
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return -1
"""


class SharedStateDown(Exception):
    """Redis could not be reached (or is in its back-off after a failure); the message says why."""


class SharedState:
    """One Redis client with short timeouts and no retries, and what is known of its health."""

    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S, backoff_s: float = BACKOFF_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # No retries: a retry would multiply the worst-case cost of a dead Redis per request.
        self.client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, retry=Retry(NoBackoff(), 0))
        self._backoff_s = backoff_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._problem: str | None = None

    @staticmethod
    def key(*parts: str) -> str:
        """A namespaced key: ``docent:<part>:<part>...``."""
        return PREFIX + ":".join(parts)

    def run(self, op: Callable[[redis.Redis], T]) -> T:
        """``op(client)``; a Redis failure raises ``SharedStateDown`` (at once during the back-off)."""
        with self._lock:
            if self._down_since is not None and self._clock() < self._retry_at:
                raise SharedStateDown(self._problem or "unreachable")
        try:
            result = op(self.client)
        except redis.RedisError as exc:
            raise SharedStateDown(self._failed(exc)) from exc
        if self._down_since is not None:
            self._recovered()
        return result

    def problem(self) -> str | None:
        """Why Redis is unusable (probing it with a PING), or None when it answers."""
        try:
            self.run(lambda client: client.ping())
        except SharedStateDown as exc:
            return str(exc)
        return None

    def _failed(self, exc: redis.RedisError) -> str:
        # The message names host and port at most (never the URL, which may hold a password).
        problem = f"{type(exc).__name__}: {str(exc).rstrip('.')}"[:200]
        with self._lock:
            first = self._down_since is None
            if first:
                self._down_since = self._clock()
            self._retry_at = self._clock() + self._backoff_s
            self._problem = problem
        if first:  # once per outage, not per request
            log.warning("Redis (shared limits) unreachable: %s. Until it is back, requests without an API key "
                        "get 429, staff keys are not rate limited, failed sign-ins are counted per worker, "
                        "and the answer cache is bypassed.", problem)
        return problem

    def _recovered(self) -> None:
        with self._lock:
            since, self._down_since, self._problem = self._down_since, None, None
        if since is not None:
            log.warning("Redis (shared limits) reachable again after %.1f s; shared limits apply again.",
                        self._clock() - since)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


class RedisLimiter:
    """At most ``limit`` hits per ``window_s`` for each key, counted in Redis for every worker."""

    def __init__(self, state: SharedState, name: str, limit: int, window_s: float = 60.0, *,
                 on_outage: OnOutage) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.on_outage = on_outage
        self._state = state
        self._name = name
        self._script = state.client.register_script(_SLIDING_WINDOW)  # EVALSHA; reloaded after a restart
        self._local = SlidingWindowLimiter(limit, window_s) if on_outage == "local" else None

    def hit(self, key: str) -> float | None:
        """Count one hit for ``key``; ``None`` if allowed, else seconds until one is allowed.

        While Redis is down: see ``on_outage`` (``closed`` raises ``RateLimitedError``).
        """
        return self._call(key, count=True)

    def wait(self, key: str) -> float | None:
        """Like ``hit`` without counting."""
        return self._call(key, count=False)

    def _call(self, key: str, *, count: bool) -> float | None:
        args: list[int | str] = [int(self.window_s * 1000), self.limit, secrets.token_hex(8), int(count)]
        try:
            ms = self._state.run(lambda _: self._script(keys=[SharedState.key("rl", self._name, key)], args=args))
        except SharedStateDown:
            return self._outage(key, count=count)
        return None if int(ms) < 0 else int(ms) / 1000

    def _outage(self, key: str, *, count: bool) -> float | None:
        if self.on_outage == "open":
            return None
        if self._local is not None:
            return self._local.hit(key) if count else self._local.wait(key)
        raise RateLimitedError(OUTAGE_MESSAGE, OUTAGE_RETRY_AFTER_S)


class SharedSecret:
    """A random key that every worker reads from Redis (the first one to start writes it).

    Each worker re-asserts its copy once a minute (``SET NX``): after a Redis restart
    without persistence the key comes back with the same value, so tokens minted before
    still verify. While Redis is down a worker keeps using its copy; one that never had
    a copy cannot mint or verify tokens (the caller gets the outage 429).
    """

    REFRESH_S = 60.0

    def __init__(self, state: SharedState, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._state = state
        self._key = SharedState.key(name)
        self._clock = clock
        self._lock = threading.Lock()
        self._value: bytes | None = None
        self._next_check = 0.0

    def get(self) -> bytes:
        """The shared key (from this process's copy for up to ``REFRESH_S``)."""
        with self._lock:
            now = self._clock()
            if self._value is not None and now < self._next_check:
                return self._value
            mine = (self._value or secrets.token_bytes(32)).hex()
            try:
                stored = self._state.run(lambda client: _set_then_get(client, self._key, mine))
            except SharedStateDown:
                if self._value is None:
                    raise RateLimitedError(OUTAGE_MESSAGE, OUTAGE_RETRY_AFTER_S) from None
                self._next_check = now + BACKOFF_S
                return self._value
            self._value = bytes.fromhex(stored.decode())
            self._next_check = now + self.REFRESH_S
            return self._value


def _set_then_get(client: redis.Redis, key: str, value: str) -> bytes:
    """Write ``value`` unless the key exists, and read what is there, in one transaction."""
    pipe = client.pipeline(transaction=True)
    pipe.set(key, value, nx=True)
    pipe.get(key)
    stored = pipe.execute()[1]
    if not isinstance(stored, bytes):
        raise redis.RedisError("the shared secret vanished between SET and GET")
    return stored


def build_limiter(state: SharedState | None, name: str, limit: int, window_s: float = 60.0, *,
                  on_outage: OnOutage) -> Limiter:
    """A Redis limiter when ``state`` is given (several workers), else a per-process one."""
    if state is None:
        return SlidingWindowLimiter(limit, window_s)
    return RedisLimiter(state, name, limit, window_s, on_outage=on_outage)
