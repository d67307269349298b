"""Handoff to a helpdesk, against a real HTTP receiver on a loopback port (signature, retries, dedup, outbox)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from docent.schema import Access
from docent.settings import HandoffSettings
from service.app import create_app
from service.conversation_tables import messages
from service.runtime import Runtime
from tests.conftest import REPO
from tests.service.conftest import STAFF_KEY, SUPPORT_KEY

SECRET = "test-webhook-secret"
PUBLIC_Q = "How do I store the SOCKS5 proxy password in a file?"
INTERNAL_Q = "Who must the incident commander inform by phone if a P1 is not resolved within 4 hours?"


@dataclass
class Receiver:
    """A helpdesk on 127.0.0.1: checks signatures, answers from a script, one ticket per idempotency key."""

    secret: str = SECRET
    script: list[int] = field(default_factory=list)  # statuses to answer first; then 201
    fail_after_store: int = 0  # this many times: create the ticket, then answer 500 (a lost response)
    requests: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[str, int] = field(default_factory=dict)  # idempotency key -> ticket number
    server: ThreadingHTTPServer | None = None
    port: int = 0

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), raw, hashlib.sha256).hexdigest()
                seen = {"path": self.path, "raw": raw, "headers": dict(self.headers),
                        "signed": hmac.compare_digest(expected, self.headers.get("X-Docent-Signature", ""))}
                receiver.requests.append(seen)
                status, body = receiver._answer(seen)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def _answer(self, seen: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.script:
            status = self.script.pop(0)
            return status, {"error": "scripted"}
        if "X-Docent-Signature" in seen["headers"] and not seen["signed"]:
            return 401, {"error": "bad signature"}
        key = seen["headers"].get("Idempotency-Key", "")
        if key not in self.tickets:
            self.tickets[key] = 1000 + len(self.tickets)
        if self.fail_after_store:
            self.fail_after_store -= 1
            return 500, {"error": "crashed after storing"}
        return 201, {"ticket_id": f"T-{self.tickets[key]}", "ticket": {"id": self.tickets[key]}}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/docent"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["raw"]) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def handoff_app(make_runtime: Callable[..., Runtime]) -> Iterator[Callable[..., tuple[TestClient, Runtime]]]:
    """An app whose handoff target is the given settings (no waiting between quick tries)."""
    clients: list[TestClient] = []

    def make(**handoff: Any) -> tuple[TestClient, Runtime]:
        runtime = make_runtime()
        runtime.settings.handoff = HandoffSettings(backoff_s=0, retry_interval_s=3600,
                                                   console_base_url="https://docent.example.com", **handoff)
        client = TestClient(create_app(runtime.settings, runtime=runtime))
        client.__enter__()
        clients.append(client)
        return client, runtime

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _ask(client: TestClient, question: str, headers: dict[str, str] | None = None) -> str:
    r = client.post("/v1/chat", json={"message": question}, headers=headers or {})
    assert r.status_code == 200, r.text
    return str(r.json()["conversation_id"])


def _internal_docs() -> list[str]:
    return sorted(str(p.relative_to(REPO / "docs-corpus")) for p in (REPO / "docs-corpus" / "internal").rglob("*.md"))


def test_handoff_webhook_is_signed_and_retried_after_500(handoff_app: Callable[..., Any], receiver: Receiver) -> None:
    """A 500 is retried with the same body and key; the signature verifies; the ticket carries the conversation."""
    receiver.script = [500]
    client, _ = handoff_app(kind="webhook", url=receiver.url, secret=SECRET)
    cid = _ask(client, PUBLIC_Q)
    r = client.post("/v1/handoff", json={"conversation_id": cid, "email": "ana@example.com",
                                         "message": "Still stuck", "page_url": "https://pylon.example/setup"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "delivered" and r.json()["reference"] == "T-1000"
    assert len(receiver.requests) == 2 and all(q["signed"] for q in receiver.requests)
    keys = {q["headers"]["Idempotency-Key"] for q in receiver.requests}
    assert keys == {r.json()["id"]} and receiver.requests[0]["raw"] == receiver.requests[1]["raw"]
    ticket = receiver.payloads()[-1]
    assert ticket["question"] == PUBLIC_Q and ticket["email"] == "ana@example.com"
    assert [t["role"] for t in ticket["transcript"]] == ["user", "assistant"]
    assert ticket["page_url"] == "https://pylon.example/setup" and ticket["message"] == "Still stuck"
    assert ticket["console_url"] == f"https://docent.example.com/console#conversation={cid}"
    # Links are absolute (a page's own URL, or Docent's /docs made absolute with console_base_url).
    assert ticket["sources"] and all(s["url"].startswith("https://") and s["title"] for s in ticket["sources"])
    assert "configuration/proxies.md" in {s["doc_path"] for s in ticket["sources"]}


def test_handoff_lost_response_is_deduplicated_by_idempotency_key(handoff_app: Callable[..., Any],
                                                                  receiver: Receiver) -> None:
    """The receiver stores the ticket but the response is lost: the re-delivery opens no second ticket."""
    receiver.fail_after_store = 1
    client, _ = handoff_app(kind="webhook", url=receiver.url, secret=SECRET)
    cid = _ask(client, PUBLIC_Q)
    body = {"conversation_id": cid, "email": "ana@example.com"}
    r = client.post("/v1/handoff", json=body)
    assert r.status_code == 201 and len(receiver.requests) == 2
    assert len(receiver.tickets) == 1
    again = client.post("/v1/handoff", json=body)  # a double click: the same handoff, not a new one
    assert again.json()["id"] == r.json()["id"] and len(receiver.requests) == 2


def test_handoff_public_conversation_sends_nothing_internal(handoff_app: Callable[..., Any],
                                                            receiver: Receiver) -> None:
    """Even with an internal chunk planted in a public turn's retrieval, the ticket lists public pages only;
    a staff key's own conversation does list the internal page."""
    client, runtime = handoff_app(kind="webhook", url=receiver.url, secret=SECRET)
    staff_hits = runtime.retriever.search(INTERNAL_Q, Access.staff(all_groups=True), 5).hits
    internal = next(h for h in staff_hits if h.doc_path.startswith("internal/"))
    cid = _ask(client, INTERNAL_Q)
    with runtime.conversations.engine.begin() as conn:  # as if retrieval had leaked (defence in depth)
        row = conn.execute(select(messages.c.id, messages.c.meta).where(
            messages.c.conversation_id == cid, messages.c.role == "assistant")).one()
        meta = dict(row.meta)
        meta["retrieved"] = [{"chunk_id": internal.chunk_id, "doc_path": internal.doc_path, "score": 1.0,
                              "similarity": 0.9}, *meta["retrieved"]]
        conn.execute(update(messages).where(messages.c.id == row.id).values(meta=meta))
    assert client.post("/v1/handoff", json={"conversation_id": cid, "email": "a@example.com"}).status_code == 201
    raw = receiver.requests[-1]["raw"].decode()
    ticket = json.loads(raw)
    assert ticket["audience"] == "public"
    assert all(not s["doc_path"].startswith("internal/") for s in ticket["sources"])
    payload = runtime.store.open_active().payloads([internal.chunk_id])[internal.chunk_id]
    for secret_text in [*_internal_docs(), str(payload["title"]), str(payload["text"])[:60]]:
        assert secret_text not in raw, secret_text
    staff = {"X-API-Key": STAFF_KEY}
    staff_cid = _ask(client, INTERNAL_Q, staff)
    assert client.post("/v1/handoff", json={"conversation_id": staff_cid, "email": "a@example.com"},
                       headers=staff).status_code == 201
    staff_ticket = receiver.payloads()[-1]
    assert staff_ticket["audience"] == "staff"
    assert any(s["doc_path"] == internal.doc_path for s in staff_ticket["sources"])


def test_handoff_receiver_down_is_kept_listed_and_delivered_later(handoff_app: Callable[..., Any],
                                                                  receiver: Receiver) -> None:
    """Receiver down: 202 pending, listed in the console with attempts and error; delivered by the retry pass."""
    port = receiver.port
    receiver.stop()
    client, runtime = handoff_app(kind="webhook", url=receiver.url, secret=SECRET)
    cid = _ask(client, PUBLIC_Q)
    r = client.post("/v1/handoff", json={"conversation_id": cid, "email": "ana@example.com"})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    assert r.json()["reference"].startswith("H-") and "saved" in r.json()["detail"]
    staff = {"X-API-Key": SUPPORT_KEY}
    listed = client.get("/v1/console/handoffs", headers=staff).json()
    row = next(h for h in listed["handoffs"] if h["id"] == r.json()["id"])
    assert row["status"] == "pending" and row["attempts"] == 3 and "ConnectError" in row["last_error"]
    outbox = runtime.handoffs
    assert outbox.retry_due() == 0  # not due yet: it backs off
    receiver.start(port)
    outbox.clock = lambda: time.time() + 3600  # the backoff has passed
    assert outbox.retry_due() == 1
    row = next(h for h in client.get("/v1/console/handoffs", headers=staff).json()["handoffs"]
               if h["id"] == r.json()["id"])
    assert row["status"] == "delivered" and row["attempts"] == 4 and row["reference"] == "T-1000"
    assert len(receiver.tickets) == 1 and receiver.requests[0]["signed"]


def test_handoff_refused_is_failed_until_staff_retry(handoff_app: Callable[..., Any], receiver: Receiver) -> None:
    """A 4xx is not retried on its own (failed, listed); a staff retry delivers it once fixed."""
    receiver.script = [401]
    client, runtime = handoff_app(kind="webhook", url=receiver.url, secret=SECRET)
    cid = _ask(client, PUBLIC_Q)
    r = client.post("/v1/handoff", json={"conversation_id": cid, "email": "ana@example.com"})
    assert r.status_code == 202 and r.json()["status"] == "failed" and len(receiver.requests) == 1
    runtime.handoffs.clock = lambda: time.time() + 10**6
    assert runtime.handoffs.retry_due() == 0
    hid = r.json()["id"]
    assert client.post(f"/v1/console/handoffs/{hid}/retry").status_code == 401
    retried = client.post(f"/v1/console/handoffs/{hid}/retry", headers={"X-API-Key": SUPPORT_KEY})
    assert retried.status_code == 200 and retried.json()["status"] == "delivered"


def test_handoff_zendesk_ticket_shape(handoff_app: Callable[..., Any], receiver: Receiver) -> None:
    """Zendesk: POST /api/v2/tickets.json, basic auth email/token:apitoken, the ticket document; #id shown."""
    client, _ = handoff_app(kind="zendesk", url=f"http://127.0.0.1:{receiver.port}", zendesk_email="bot@pylon.example",
                            zendesk_token="zd-token")
    cid = _ask(client, PUBLIC_Q)
    r = client.post("/v1/handoff", json={"conversation_id": cid, "email": "ana@example.com", "message": "Help"})
    assert r.status_code == 201 and r.json()["reference"] == "#1000"
    seen = receiver.requests[-1]
    assert seen["path"] == "/api/v2/tickets.json"
    assert seen["headers"]["Authorization"] == "Basic " + base64.b64encode(b"bot@pylon.example/token:zd-token").decode()
    ticket = json.loads(seen["raw"])["ticket"]
    assert ticket["requester"] == {"email": "ana@example.com"} and ticket["external_id"] == r.json()["id"]
    assert ticket["subject"].startswith("Docent handoff: How do I store")
    assert PUBLIC_Q in ticket["comment"]["body"] and "Help" in ticket["comment"]["body"]
    assert f"/console#conversation={cid}" in ticket["comment"]["body"]


def test_handoff_bad_input_and_unconfigured_are_clear_4xx(handoff_app: Callable[..., Any],
                                                             receiver: Receiver, tmp_path: Path) -> None:
    """Bad email or page URL: 422; another scope's or unknown conversation: 404; not configured: 409."""
    client, _ = handoff_app(kind="webhook", url=receiver.url, secret=SECRET)
    assert client.get("/v1/handoff").json() == {"enabled": True}
    cid = _ask(client, PUBLIC_Q)
    for bad in ({"email": "not-an-email"}, {"email": "a@b"}, {"email": "a@example.com", "page_url": "javascript:x"}):
        r = client.post("/v1/handoff", json={"conversation_id": cid, **bad})
        assert r.status_code == 422 and ("email" in r.json()["detail"] or "page_url" in r.json()["detail"])
    r = client.post("/v1/handoff", json={"conversation_id": cid, "email": "a@example.com"},
                    headers={"X-API-Key": STAFF_KEY})
    assert r.status_code == 404  # a public conversation is not the staff key's to hand off
    assert client.post("/v1/handoff", json={"conversation_id": "nope", "email": "a@example.com"}).status_code == 404
    off, _ = handoff_app()
    assert off.get("/v1/handoff").json() == {"enabled": False}
    cid = _ask(off, PUBLIC_Q)
    r = off.post("/v1/handoff", json={"conversation_id": cid, "email": "a@example.com"})
    assert r.status_code == 409 and "not configured" in r.json()["detail"] and "Retry-After" not in r.headers
    assert receiver.requests == []


def test_handoff_settings_refuse_incomplete_targets() -> None:
    """A webhook without a secret, or Zendesk without a token, fails at start-up with what to set."""
    with pytest.raises(ValueError, match="SECRET"):
        HandoffSettings(kind="webhook", url="https://x.example/hook")
    with pytest.raises(ValueError, match="ZENDESK_TOKEN"):
        HandoffSettings(kind="zendesk", url="https://x.zendesk.com", zendesk_email="a@x.example")
