"""Every endpoint x every identity, driven by the access level the OpenAPI schema declares.

The levels are derived from the routes' dependencies (service/api/access.py); this
test checks that each operation really behaves as declared, so an endpoint added
without the right dependency shows up here as a mismatch, not as a leak.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from entrypoints.asgi import build_app
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY, SUPPORT_KEY

ORIGIN = {"Origin": "http://testserver"}
DENIED = {401, 403}


@pytest.fixture
def app_client(make_runtime: Callable[..., Runtime]) -> TestClient:
    runtime = make_runtime()
    # The matrix sends a few hundred requests from one address.
    runtime.settings.widget = runtime.settings.widget.model_copy(update={"rate_per_minute_ip": 10_000,
                                                                         "rate_per_minute_token": 10_000})
    # ...and one wrong key per protected operation: more than the failed-sign-in budget.
    runtime.settings.auth.failures_per_minute_ip = 10_000
    client = TestClient(build_app(runtime.settings, runtime))
    client.__enter__()
    return client


def _identities(client: TestClient) -> dict[str, dict[str, str]]:
    token = client.post("/v1/widget/session", json={"site_id": "demo"}, headers=ORIGIN).json()["token"]
    return {
        "anonymous": {},
        "widget": {**ORIGIN, "Authorization": f"Bearer {token}"},
        "wrong_key": {"X-API-Key": "not-a-key"},
        "staff": {"X-API-Key": SUPPORT_KEY},
        "admin": {"X-API-Key": STAFF_KEY},
    }


# What each identity gets per level: True = let through (any status but 401/403).
ALLOWED = {
    "open": {"anonymous": True, "widget": True, "wrong_key": True, "staff": True, "admin": True},
    "public": {"anonymous": True, "widget": True, "wrong_key": False, "staff": True, "admin": True},
    "staff": {"anonymous": False, "widget": False, "wrong_key": False, "staff": True, "admin": True},
    "admin": {"anonymous": False, "widget": False, "wrong_key": False, "staff": False, "admin": True},
}


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    ops = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            ops.append((method.upper(), path, op.get("x-docent-access", "MISSING")))
    return ops


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    url = re.sub(r"\{[^}]+\}", "x", path)
    # An invalid body: a caller who passes the access check gets 422, and no handler
    # with side effects (an ingest, an eval run) ever starts.
    kwargs: dict[str, Any] = {"json": {"not_a_field": True}} if method == "POST" else {}
    return client.request(method, url, headers=headers, **kwargs).status_code


def test_every_operation_declares_its_access_level(app_client: TestClient) -> None:
    schema = app_client.get("/openapi.json").json()
    ops = _operations(schema)
    assert len(ops) >= 15
    assert [op for op in ops if op[2] not in ALLOWED] == []
    levels = {path: level for _, path, level in ops}
    assert levels["/v1/chat"] == "public" and levels["/v1/search"] == "public"
    assert levels["/v1/console/me"] == "staff"
    assert levels["/v1/console/cache"] == levels["/v1/console/cache/{entry_id}"] == "staff"  # list and purge
    assert levels["/v1/admin/ingest"] == levels["/v1/admin/keys"] == levels["/v1/admin/sources"] == "admin"
    # Handoff (widget and staff) and the gap report (staff; its re-check, which runs the model: admin).
    assert levels["/v1/handoff"] == "public" and levels["/v1/console/handoffs"] == "staff"
    assert levels["/v1/console/handoffs/{handoff_id}/retry"] == "staff"
    assert levels["/v1/console/gaps"] == levels["/v1/console/gaps.csv"] == "staff"
    assert levels["/v1/console/gaps/recheck"] == "admin"
    # Where people already work: OpenAI-compatible chat (public, like /v1/chat) and docs for machines (open).
    assert levels["/v1/chat/completions"] == levels["/v1/models"] == "public"
    assert levels["/llms.txt"] == levels["/llms-full.txt"] == levels["/docs/{path}.md"] == "open"
    for method, path, level in ops:
        op = schema["paths"][path][method.lower()]
        assert f"Access: {level}" in op["description"]
        if level in ("staff", "admin"):
            assert op["security"] == [{"APIKeyHeader": []}], path


def test_auth_matrix(app_client: TestClient) -> None:
    identities = _identities(app_client)
    ops = _operations(app_client.get("/openapi.json").json())
    mismatches = []
    for method, path, level in ops:
        for who, headers in identities.items():
            status = _call(app_client, method, path, headers)
            if (status not in DENIED) != ALLOWED[level][who]:
                mismatches.append(f"{method} {path} [{level}] as {who}: {status}")
            assert status < 500, f"{method} {path} as {who}: {status}"
    assert mismatches == []


def test_admin_routes_answer_admins(app_client: TestClient) -> None:
    admin = {"X-API-Key": STAFF_KEY}
    keys = app_client.get("/v1/admin/keys", headers=admin).json()
    assert {k["name"] for k in keys} == {"admin", "support"}
    assert all(len(k["fingerprint"]) == 8 and "sha256" not in k for k in keys)
    assert app_client.get("/v1/admin/ingest", headers=admin).status_code == 404  # none started yet
    assert app_client.get("/v1/admin/sources", headers=admin).json() == []  # no sources: the docs folder


def test_staff_key_rate_limit_is_429_with_retry_after(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    runtime.settings.auth.rate_per_minute_key = 3
    with TestClient(build_app(runtime.settings, runtime)) as client:
        support = {"X-API-Key": SUPPORT_KEY}
        for _ in range(3):
            assert client.post("/v1/search", json={"query": "install"}, headers=support).status_code == 200
        refused = client.post("/v1/search", json={"query": "install"}, headers=support)
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        # Another key has its own budget.
        assert client.post("/v1/search", json={"query": "install"},
                           headers={"X-API-Key": STAFF_KEY}).status_code == 200


def test_callers_without_origin_share_the_per_address_limit(make_runtime: Callable[..., Runtime]) -> None:
    """Leaving out the Origin header (a script, not a browser) does not lift the limit."""
    runtime = make_runtime()
    runtime.settings.widget = runtime.settings.widget.model_copy(update={"rate_per_minute_ip": 2})
    with TestClient(build_app(runtime.settings, runtime)) as client:
        assert [client.post("/v1/search", json={"query": "install"}).status_code for _ in range(3)] == [200, 200, 429]


def test_oversized_and_malformed_bodies_are_4xx(client: TestClient) -> None:
    huge = client.post("/v1/chat", content=b'{"message": "' + b"a" * 200_000 + b'"}',
                       headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and "limit" in huge.json()["detail"]

    def chunked() -> Any:
        for _ in range(100):
            yield b"x" * 1024

    streamed = client.post("/v1/chat", content=chunked(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    for body in (b"not json", b"\xff\xfe\x00bad utf-8", b"[]", b'{"message": 5}', b'{"message": ""}'):
        r = client.post("/v1/chat", content=body, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500 and r.json()["detail"], body
    long = client.post("/v1/chat", json={"message": "a " * 3000})
    assert long.status_code == 422 and "limit" in long.json()["detail"]
    assert client.post("/v1/chat", json={"message": "hi", "conversation_id": "nope"}).status_code == 404
    assert client.post("/v1/search", json={"query": "x", "top_k": 10**9}).status_code == 422


def test_mcp_endpoint_is_public_level(app_client: TestClient) -> None:
    """/mcp (outside the OpenAPI schema) behaves as a public route for every identity of the matrix."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream"}
    bearer = {"staff_bearer": {"Authorization": f"Bearer {SUPPORT_KEY}"},
              "wrong_bearer": {"Authorization": "Bearer dk_not_a_key"}}
    for who, headers in {**_identities(app_client), **bearer}.items():
        status = app_client.post("/mcp", json=init, headers={**accept, **headers}).status_code
        allowed = ALLOWED["public"].get(who, who == "staff_bearer")
        assert (status not in DENIED) == allowed and status < 500, f"/mcp as {who}: {status}"
