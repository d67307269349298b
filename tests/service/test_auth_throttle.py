"""Failed authentication is throttled per client address, over real HTTP on loopback.

Past ``auth.failures_per_minute_ip`` wrong keys or forged widget tokens from one address,
any credential from it gets 429 + Retry-After without being checked; callers without
credentials are not affected, and expired (genuine) tokens are not failures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from entrypoints.asgi import build_app
from service.runtime import Runtime
from service.widget_tokens import TokenClaims, mint_token, widget_guard
from tests.service.conftest import STAFF_KEY
from tests.service.live_server import serve_in_thread

LIMIT = 5
ORIGIN = "http://127.0.0.1"


def _runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    runtime = make_runtime()
    runtime.settings.auth.failures_per_minute_ip = LIMIT
    return runtime


def test_wrong_keys_get_429_after_the_limit_even_for_a_valid_key(make_runtime: Callable[..., Runtime]) -> None:
    """5 wrong X-API-Keys are 401s; then every credential from that address is 429 with Retry-After,
    while a caller without credentials is still served."""
    runtime = _runtime(make_runtime)
    with serve_in_thread(build_app(runtime.settings, runtime), runtime.settings) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        wrong = [client.get("/v1/console/me", headers={"X-API-Key": f"guess-{i}"}) for i in range(LIMIT + 3)]
        valid = client.get("/v1/console/me", headers={"X-API-Key": STAFF_KEY})
        public = client.post("/v1/search", json={"query": "install"})
    assert [r.status_code for r in wrong] == [401] * LIMIT + [429] * 3
    assert all(1 <= int(r.headers["Retry-After"]) <= 60 for r in wrong[LIMIT:])
    assert valid.status_code == 429 and "Retry-After" in valid.headers
    assert public.status_code == 200


def test_forged_tokens_count_expired_ones_do_not(make_runtime: Callable[..., Runtime]) -> None:
    """Forged or mangled widget tokens are failed sign-ins; a genuine expired token is just 401."""
    runtime = _runtime(make_runtime)
    app = build_app(runtime.settings, runtime)
    with serve_in_thread(app, runtime.settings) as url, httpx.Client(base_url=url, timeout=10) as client:
        guard = widget_guard(runtime)
        site = runtime.settings.widget.sites[0].site_id
        expired = mint_token(guard.secret, TokenClaims(site, url, "old-session", int(time.time()) - 60))
        late = [client.post("/v1/search", json={"query": "install"},
                            headers={"Authorization": f"Bearer {expired}", "Origin": url})
                for _ in range(LIMIT + 2)]
        forged = [client.post("/v1/search", json={"query": "install"},
                              headers={"Authorization": f"Bearer v1.e30.{'A' * 43}{i}", "Origin": url})
                  for i in range(LIMIT + 2)]
    assert [r.status_code for r in late] == [401] * (LIMIT + 2)
    assert [r.status_code for r in forged] == [401] * LIMIT + [429] * 2
