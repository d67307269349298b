"""Rate limits and the widget key shared through a real redis-server (``DOCENT_REDIS_URL``).

Each ``SharedState`` here stands for one API worker: two of them over one Redis must
count as one. Stopping the server shows the outage policies (anonymous refused, staff
allowed, failed sign-ins counted locally), and starting it again shows the recovery.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from docent.errors import RateLimitedError
from service.app import create_app
from service.rate_limit import SlidingWindowLimiter
from service.runtime import Runtime
from service.shared_state import BACKOFF_S, OUTAGE_RETRY_AFTER_S, RedisLimiter, SharedSecret, SharedState
from tests.redis_server import RedisServer
from tests.service.conftest import STAFF_KEY


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[Callable[[], SharedState]]:
    """Make ``SharedState`` clients of the test's Redis (one per simulated worker); closed afterwards."""
    made: list[SharedState] = []

    def make() -> SharedState:
        made.append(SharedState(redis_server.url))
        return made[-1]

    yield make
    for state in made:
        state.close()


def _wait_until_back(state: SharedState) -> None:
    deadline = time.monotonic() + 10
    while state.problem() is not None:
        assert time.monotonic() < deadline, "Redis did not come back"
        time.sleep(BACKOFF_S / 4)


def test_redis_limiter_is_one_budget_for_concurrent_workers(workers: Callable[[], SharedState]) -> None:
    """40 concurrent hits through two workers' limiters on one key: exactly the limit (7) is allowed."""
    a = RedisLimiter(workers(), "ip", 7, 60.0, on_outage="closed")
    b = RedisLimiter(workers(), "ip", 7, 60.0, on_outage="closed")
    with ThreadPoolExecutor(8) as pool:
        waits = list(pool.map(lambda i: (a, b)[i % 2].hit("198.51.100.7"), range(40)))
    assert waits.count(None) == 7
    refused = [w for w in waits if w is not None]
    assert len(refused) == 33 and all(0 < w <= 60 for w in refused)
    assert a.wait("198.51.100.7") is not None and b.wait("192.0.2.1") is None  # other keys untouched


def test_redis_limiter_keys_are_namespaced_and_expire(workers: Callable[[], SharedState]) -> None:
    """A key lives at docent:rl:<limiter>:<key> and expires after one idle window."""
    state = workers()
    RedisLimiter(state, "widget-session", 3, 30.0, on_outage="closed").hit("widget:demo:abc")
    ttl_ms = state.client.pttl("docent:rl:widget-session:widget:demo:abc")
    assert 25_000 < ttl_ms <= 30_000
    assert state.client.keys("*") == [b"docent:rl:widget-session:widget:demo:abc"]


def test_redis_limiter_window_slides(workers: Callable[[], SharedState]) -> None:
    """Refused hits are not counted: once the oldest hit leaves the window, one more is allowed."""
    limiter = RedisLimiter(workers(), "ip", 2, 0.5, on_outage="closed")
    assert limiter.hit("k") is None and limiter.hit("k") is None
    wait = limiter.hit("k")
    assert wait is not None and wait <= 0.5
    time.sleep(wait + 0.05)
    assert limiter.hit("k") is None


def test_redis_outage_policies_then_recovery(workers: Callable[[], SharedState], redis_server: RedisServer,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """Redis stopped: anonymous limits refuse (429 + Retry-After), staff limits allow, failed
    sign-ins count per worker, and the outage is logged once; started again: shared limits apply."""
    state = workers()
    anonymous = RedisLimiter(state, "ip", 2, 60.0, on_outage="closed")
    staff = RedisLimiter(state, "staff-key", 2, 60.0, on_outage="open")
    failures = RedisLimiter(state, "auth-failures", 2, 60.0, on_outage="local")
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="service.shared_state"):
        for _ in range(20):
            with pytest.raises(RateLimitedError, match="unreachable") as refused:
                anonymous.hit("192.0.2.1")
            assert refused.value.retry_after == OUTAGE_RETRY_AFTER_S
        assert all(staff.hit("admin") is None for _ in range(20))
        assert [failures.hit("192.0.2.9") is None for _ in range(3)] == [True, True, False]
        assert state.problem() is not None
        redis_server.start()
        _wait_until_back(state)
    outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage) == 1 and "429" in outage[0].getMessage()
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    assert [anonymous.hit("192.0.2.1") is None for _ in range(3)] == [True, True, False]
    assert [staff.hit("admin") is None for _ in range(3)] == [True, True, False]


def test_shared_state_silent_redis_costs_one_short_timeout() -> None:
    """A Redis that accepts but never answers costs one 0.25 s timeout, then nothing during the back-off."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        state = SharedState(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
        limiter = RedisLimiter(state, "ip", 5, 60.0, on_outage="open")
        started = time.monotonic()
        assert limiter.hit("a") is None
        first = time.monotonic() - started
        started = time.monotonic()
        assert all(limiter.hit("a") is None for _ in range(50))
        rest = time.monotonic() - started
        state.close()
    assert 0.2 <= first < 0.6
    assert rest < 0.05


def test_shared_secret_is_one_key_and_survives_a_redis_restart(workers: Callable[[], SharedState],
                                                               redis_server: RedisServer) -> None:
    """Workers read one random widget key; after Redis restarts empty, a worker re-asserts its copy,
    so a worker started afterwards gets the same key (tokens minted before still verify)."""
    now = [0.0]
    first = SharedSecret(workers(), "widget:token-secret", clock=lambda: now[0])
    second = SharedSecret(workers(), "widget:token-secret", clock=lambda: now[0])
    key = first.get()
    assert len(key) == 32 and second.get() == key
    redis_server.stop()
    assert first.get() == key  # its own copy while Redis is down
    fresh = SharedSecret(workers(), "widget:token-secret")
    with pytest.raises(RateLimitedError):
        fresh.get()  # nothing to verify with yet: refused, not a different key
    redis_server.start()
    now[0] += SharedSecret.REFRESH_S + 1
    _wait_until_back(workers())
    assert first.get() == key
    assert SharedSecret(workers(), "widget:token-secret").get() == key


def test_readyz_reports_redis_outage_and_stays_200(make_runtime: Callable[..., Runtime],
                                                   redis_server: RedisServer) -> None:
    """/readyz says `redis: ok`; with Redis down it stays 200 with a warning, anonymous callers get
    429 + Retry-After and a staff key is served; with Redis back, all is as before."""
    runtime = make_runtime()
    runtime.settings.redis_url = redis_server.url
    runtime.settings.widget.rate_per_minute_ip = 3
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        assert client.get("/readyz").json()["checks"]["redis"] == "ok"
        redis_server.stop()
        ready = client.get("/readyz")
        anonymous = client.post("/v1/search", json={"query": "install"})
        staff = client.post("/v1/search", json={"query": "install"}, headers={"X-API-Key": STAFF_KEY})
        redis_server.start()
        time.sleep(BACKOFF_S + 0.1)
        back = client.get("/readyz").json()
        after = [client.post("/v1/search", json={"query": "install"}).status_code for _ in range(4)]
    assert ready.status_code == 200
    assert ready.json()["checks"]["redis"].startswith("unreachable") and ready.json()["warnings"]
    assert anonymous.status_code == 429 and anonymous.headers["retry-after"] == str(OUTAGE_RETRY_AFTER_S)
    assert "unreachable" in anonymous.json()["detail"]
    assert staff.status_code == 200
    assert back["checks"]["redis"] == "ok" and "warnings" not in back
    assert after == [200, 200, 200, 429]


def test_widget_guard_without_redis_keeps_per_process_state(make_runtime: Callable[..., Runtime]) -> None:
    """No DOCENT_REDIS_URL: no Redis is opened, and the guard's limits are in-process ones."""
    runtime = make_runtime()
    guard = runtime.widget_guard
    assert runtime.shared_state is None
    assert isinstance(guard.per_ip, SlidingWindowLimiter) and isinstance(guard.per_token, SlidingWindowLimiter)
    assert isinstance(guard.secret, bytes) and guard.secret == guard.secret
