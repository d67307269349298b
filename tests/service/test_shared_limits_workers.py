"""`docent serve --workers 2` with DOCENT_REDIS_URL: one per-address budget, one widget key.

Real server processes on loopback (server mode: QDRANT_URL points at a port where nothing
listens, so /v1/search answers the invalid body with 422 after the caller's identity and
limits are checked, and no index is needed). Every request opens its own connection, so
both workers serve. 127.0.0.1 is a trusted proxy, so X-Forwarded-For picks the bucket.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from docent.embedder import Embedder
from service.shared_state import BACKOFF_S, OUTAGE_RETRY_AFTER_S
from tests.redis_server import RedisServer
from tests.service.live_server import DocentProcess, docent_serve, free_port

LIMIT = 10
BAD_SEARCH = {"not_a_field": True}  # 422 once identity and limits have passed
STAFF_KEY = "workers-staff-key"


@contextmanager
def _two_workers(tmp: Path, models_cache: Path, redis_url: str | None) -> Iterator[DocentProcess]:
    env = {"QDRANT_URL": f"http://127.0.0.1:{free_port()}", "DOCENT_TRUSTED_PROXIES": "127.0.0.1",
           "DOCENT_LOG_LEVEL": "INFO",  # worker starts and deaths, in server.log if a start fails
           "DOCENT_WIDGET__RATE_PER_MINUTE_IP": str(LIMIT),
           "DOCENT_AUTH__STAFF_KEYS": json.dumps([{"name": "ops", "sha256": hashlib.sha256(STAFF_KEY.encode())
                                                   .hexdigest()}]),
           **({"DOCENT_REDIS_URL": redis_url} if redis_url else {})}
    # Generous: two workers each load the embedder, and CI machines can be busy.
    with docent_serve(tmp, models_cache, env, "--workers", "2", start_timeout_s=600) as server:
        _wait_for_both_workers(tmp / "server.log")
        yield server


def _wait_for_both_workers(log: Path, within_s: float = 600) -> None:
    """/healthz answers once one worker is up; the tests need both serving."""
    deadline = time.monotonic() + within_s
    while log.read_text().count("Application startup complete") < 2:
        assert time.monotonic() < deadline, f"second worker did not start:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)


def _search(url: str, address: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request on its own connection, as if from ``address``."""
    return httpx.post(url + "/v1/search", json=BAD_SEARCH, timeout=10,
                      headers={"X-Forwarded-For": address, **(headers or {})})


def _burst(url: str, address: str, n: int) -> list[httpx.Response]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _search(url, address), range(n)))


def _mint(url: str, address: str, n: int) -> list[str]:
    tokens = []
    for _ in range(n):
        response = httpx.post(url + "/v1/widget/session", json={"site_id": "demo"}, timeout=10,
                              headers={"Origin": url, "X-Forwarded-For": address})
        assert response.status_code == 200, response.text
        tokens.append(response.json()["token"])
    return tokens


def _use(url: str, tokens: list[str]) -> list[int]:
    """Each token once, each from its own address (so only the token decides)."""
    return [_search(url, f"203.0.113.{100 + i}", {"Authorization": f"Bearer {t}", "Origin": url}).status_code
            for i, t in enumerate(tokens)]


def test_workers_share_per_address_limit_and_widget_key_through_redis(
        tmp_path: Path, models_cache: Path, embedder: Embedder, redis_server: RedisServer) -> None:
    """Two workers + Redis: 30 concurrent requests from one address get exactly 10 through; tokens
    minted by either worker verify on both; with Redis stopped anonymous callers get 429 + Retry-After,
    a staff key is served and /readyz says so; with Redis back the limit holds exactly again."""
    with _two_workers(tmp_path, models_cache, redis_server.url) as server:
        burst = _burst(server.url, "198.51.100.1", 30)
        used = _use(server.url, _mint(server.url, "198.51.100.2", 8))
        redis_server.stop()
        anonymous = _search(server.url, "198.51.100.3")
        staff = [_search(server.url, "198.51.100.4", {"X-API-Key": STAFF_KEY}).status_code for _ in range(6)]
        ready = httpx.get(server.url + "/readyz", timeout=10).json()
        redis_server.start()
        time.sleep(BACKOFF_S + 0.2)  # each worker probes again after its back-off
        again = _burst(server.url, "198.51.100.5", 20)
        ready_again = httpx.get(server.url + "/readyz", timeout=10).json()
        log = (tmp_path / "server.log").read_text()
    statuses = [r.status_code for r in burst]
    assert statuses.count(422) == LIMIT and statuses.count(429) == 30 - LIMIT
    assert all(1 <= int(r.headers["retry-after"]) <= 60 for r in burst if r.status_code == 429)
    assert used == [422] * 8
    assert anonymous.status_code == 429 and anonymous.headers["retry-after"] == str(OUTAGE_RETRY_AFTER_S)
    assert "unreachable" in anonymous.json()["detail"]
    assert staff == [422] * 6
    assert ready["checks"]["redis"].startswith("unreachable") and ready["warnings"]
    assert [r.status_code for r in again].count(422) == LIMIT
    assert ready_again["checks"]["redis"] == "ok"
    # Logged once per outage and worker (at most 2 workers), not once per request.
    assert 1 <= log.count("Redis (shared limits) unreachable") <= 2


def test_workers_without_redis_count_apart(tmp_path: Path, models_cache: Path, embedder: Embedder) -> None:
    """The problem Redis solves: two workers without it let more than the limit through from one
    address, and a token minted by one worker (random key per process) is refused by the other."""
    with _two_workers(tmp_path, models_cache, None) as server:
        statuses = [r.status_code for r in _burst(server.url, "198.51.100.1", 40)]
        used = _use(server.url, _mint(server.url, "198.51.100.2", LIMIT))
    assert LIMIT < statuses.count(422) <= 2 * LIMIT
    assert 401 in used and 422 in used

