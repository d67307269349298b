"""The widget's HTTP surface: session tokens, origin checks, CORS, rate limits, pages; no browser."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from service.runtime import Runtime
from service.widget_tokens import TokenClaims, mint_token, widget_guard
from tests.widget.conftest import ANSWERABLE, INTERNAL_Q, INTERNAL_TITLE, SITE, STAFF_KEY

Api = Callable[..., tuple[TestClient, Runtime]]
OK_ORIGIN = {"Origin": "http://testserver"}
EVIL = {"Origin": "https://evil.example"}


def mint(client: TestClient, **extra: object) -> str:
    r = client.post("/v1/widget/session", json={"site_id": SITE, **extra}, headers=OK_ORIGIN)
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def bearer(token: str, origin: dict[str, str] = OK_ORIGIN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **origin}


def test_session_mint_allowed_origin_returns_token_and_site(api: Api) -> None:
    """An allowed origin gets a token, its expiry, the site's title/greeting and the support link."""
    client, runtime = api()
    r = client.post("/v1/widget/session", json={"site_id": SITE}, headers=OK_ORIGIN)
    body = r.json()
    assert r.status_code == 200 and body["token"].startswith("v1.")
    ttl = runtime.settings.widget.token_ttl_s
    assert time.time() + ttl - 5 <= body["expires_at"] <= time.time() + ttl + 5
    assert body["site"] == {"title": "Pylon help", "greeting": "Hi! Ask me about Pylon."}
    assert body["support"]["url"] == runtime.settings.chat.support_url


def test_session_mint_refused_for_disallowed_missing_origin_or_unknown_site(api: Api) -> None:
    """Minting needs the site's allow-listed Origin: others, none, or an unknown site id get 403."""
    client, _ = api()
    assert client.post("/v1/widget/session", json={"site_id": SITE}, headers=EVIL).status_code == 403
    assert client.post("/v1/widget/session", json={"site_id": SITE}).status_code == 403
    assert client.post("/v1/widget/session", json={"site_id": "nope"}, headers=OK_ORIGIN).status_code == 403


def test_session_mint_own_origin_allowed_without_listing(api: Api) -> None:
    """The server's own pages (demo, /docs) may use any site's widget on whatever host they are reached."""
    client, _ = api(origins=["https://docs.example"])
    assert client.post("/v1/widget/session", json={"site_id": SITE}, headers=OK_ORIGIN).status_code == 200
    other = client.post("/v1/widget/session", json={"site_id": SITE},
                        headers={"Origin": "http://testserver:8080"})
    assert other.status_code == 403  # another port is another origin


def test_chat_from_disallowed_origin_refused_with_or_without_token(api: Api) -> None:
    """A browser page on another origin cannot chat: with a (stolen) token or anonymously, 403."""
    client, runtime = api()
    token = mint(client)
    assert client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(token, EVIL)).status_code == 403
    assert client.post("/v1/chat", json={"message": ANSWERABLE}, headers=EVIL).status_code == 403
    assert client.post("/v1/feedback", json={"conversation_id": "x", "message_id": 1, "rating": 1},
                       headers=bearer(token, EVIL)).status_code == 403
    assert runtime.conversations.recent_feedback() == []


def test_chat_with_token_answers_public_only_without_debug(api: Api) -> None:
    """A widget token grants public visibility only, and the response carries no staff debug data."""
    client, _ = api()
    token = mint(client)
    body = client.post("/v1/chat", json={"message": INTERNAL_Q}, headers=bearer(token)).json()
    assert all(c["title"] != INTERNAL_TITLE and not c["doc_path"].startswith("internal/") for c in body["citations"])
    assert not {"debug", "retrieved", "timings_ms"} & set(body)
    staff = client.post("/v1/chat", json={"message": INTERNAL_Q}, headers={"X-API-Key": STAFF_KEY}).json()
    assert any(c["title"] == INTERNAL_TITLE for c in staff["citations"])


def test_token_forged_or_expired_is_401(api: Api) -> None:
    """A tampered signature or an expired token is refused with 401, so the widget re-mints."""
    client, runtime = api()
    token = mint(client)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(forged)).status_code == 401
    secret = widget_guard(runtime).secret
    expired = mint_token(secret, TokenClaims(SITE, "http://testserver", "s1", int(time.time()) - 1))
    r = client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(expired))
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_renewed_token_keeps_conversation_new_session_does_not(api: Api) -> None:
    """Renewing with the previous token continues its conversations; a fresh session cannot."""
    client, _ = api()
    first = mint(client)
    cid = client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(first)).json()["conversation_id"]
    renewed = mint(client, previous_token=first)
    follow = {"message": "And the default port?", "conversation_id": cid}
    assert client.post("/v1/chat", json=follow, headers=bearer(renewed)).status_code == 200
    assert client.post("/v1/chat", json=follow, headers=bearer(mint(client))).status_code == 404
    assert client.post("/v1/chat", json=follow).status_code == 404  # nor an anonymous caller


def test_rate_limit_per_token_is_429_with_retry_after(api: Api) -> None:
    """Past the per-token limit, chat answers 429 with a Retry-After in whole seconds."""
    client, _ = api(rate_per_minute_token=2)
    token = mint(client)
    for _ in range(2):
        assert client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(token)).status_code == 200
    r = client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(token))
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert client.post("/v1/chat", json={"message": ANSWERABLE}, headers=bearer(mint(client))).status_code == 200


def test_rate_limit_per_ip_covers_minting(api: Api) -> None:
    """New tokens do not escape the per-IP limit: minting counts against it too."""
    client, _ = api(rate_per_minute_ip=3)
    for _ in range(3):
        mint(client)
    r = client.post("/v1/widget/session", json={"site_id": SITE}, headers=OK_ORIGIN)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_cors_preflight_allows_site_origins_only(api: Api) -> None:
    """CORS preflight succeeds for an allowed origin (no X-API-Key) and fails for others."""
    client, _ = api()
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = client.options("/v1/chat", headers={**OK_ORIGIN, **ask})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://testserver"
    evil = client.options("/v1/chat", headers={**EVIL, **ask})
    assert evil.status_code == 400 and "access-control-allow-origin" not in evil.headers
    staff = client.options("/v1/chat", headers={**OK_ORIGIN, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "x-api-key"})
    assert staff.status_code == 400


def test_console_endpoints_refuse_public_and_widget_callers(api: Api) -> None:
    """Every /v1/console endpoint is 401 without a staff key, token or not; the page itself loads."""
    client, _ = api()
    token = mint(client)
    for path in ("/v1/console/me", "/v1/console/conversations", "/v1/console/feedback", "/v1/console/abstentions",
                 "/v1/console/docs/internal/escalation-policy"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=bearer(token)).status_code == 401
    assert client.get("/v1/console/me", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/v1/console/me", headers={"X-API-Key": STAFF_KEY}).json()["admin"] is True
    page = client.get("/console")
    assert page.status_code == 200 and "Staff API key" in page.text and "script-src 'self'" in page.headers[
        "content-security-policy"]


def test_widget_js_served_small_and_gzipped(api: Api) -> None:
    """widget.js is served as JavaScript, gzipped on request, under 12 kB on the wire."""
    client, _ = api()
    r = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/javascript")
    assert r.headers["content-encoding"] == "gzip" and int(r.headers["content-length"]) < 12_000
    assert "attachShadow" in r.text


def test_demo_page_embeds_widget_with_first_site(api: Api) -> None:
    """GET / is a docs page that embeds the widget with one tag, under a strict CSP."""
    client, _ = api()
    r = client.get("/")
    assert r.status_code == 200
    assert f'<script src="/widget.js" data-docent-key="{SITE}" async></script>' in r.text
    assert "/docs/configuration/proxies" in r.text
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]


def test_docs_pages_public_rendered_internal_404(api: Api) -> None:
    """/docs serves public pages with heading anchors; internal, hidden and traversal paths are 404."""
    client, _ = api()
    r = client.get("/docs/configuration/proxies")
    assert r.status_code == 200 and '<h3 id="socks5">SOCKS5</h3>' in r.text
    assert client.get("/docs").status_code == 200
    for path in ("/docs/internal/escalation-policy", "/docs/internal/escalation-policy.md", "/docs/../pyproject.toml",
                 "/docs/%2e%2e/README", "/docs/nope"):
        assert client.get(path).status_code == 404, path
    assert client.get("/v1/console/docs/internal/escalation-policy",
                      headers={"X-API-Key": STAFF_KEY}).json()["visibility"] == "internal"
