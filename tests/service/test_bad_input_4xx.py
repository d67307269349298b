"""Out-of-range ids and NUL characters are refused with a 422 that says why, never a 500."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from service.app import create_app
from service.conversations import ConversationStore, conversations, feedback, messages
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"


def _rows(client: TestClient) -> tuple[int, int, int]:
    engine = client.app.state.runtime.conversations.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())  # type: ignore[return-value]
                     for t in (conversations, messages, feedback))


@pytest.mark.parametrize("message_id", [2**31, 2**63, 2**64 + 5, 10**30])
def test_bad_input_feedback_huge_message_id_is_422(client: TestClient, message_id: int) -> None:
    """A message id past the store's integer range is a 422 naming the field, not an overflow 500."""
    ans = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    r = client.post("/v1/feedback", json={"conversation_id": ans["conversation_id"], "message_id": message_id,
                                          "rating": 1})
    assert r.status_code == 422, r.text
    assert "message_id" in r.json()["detail"]


def test_bad_input_feedback_largest_valid_id_is_404(client: TestClient) -> None:
    """The largest id in range is looked up normally: no such message, 404."""
    ans = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    r = client.post("/v1/feedback", json={"conversation_id": ans["conversation_id"], "message_id": 2**31 - 1,
                                          "rating": 1})
    assert r.status_code == 404


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/chat", {"message": "How do I\x00 set a proxy?"}, "message"),
    ("/v1/chat", {"message": "How do I set a proxy?", "stream": True}, None),  # control: accepted
    ("/v1/chat", {"message": "How do I set a proxy?", "conversation_id": "abc\x00def"}, "conversation_id"),
    ("/v1/feedback", {"conversation_id": "{cid}", "message_id": "{mid}", "rating": -1, "comment": "wrong\x00port"},
     "comment"),
    ("/v1/feedback", {"conversation_id": "\x00", "message_id": 1, "rating": -1}, "conversation_id"),
])
def test_bad_input_nul_characters_are_422(client: TestClient, path: str, body: dict[str, object],
                                          field: str | None) -> None:
    """NUL in a chat message, a conversation id or a feedback comment: 422 with the field named; nothing stored."""
    ans = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    body = {k: (ans["conversation_id"] if v == "{cid}" else ans["message_id"] if v == "{mid}" else v)
            for k, v in body.items()}
    before = _rows(client)
    r = client.post(path, json=body)
    if field is None:
        assert r.status_code == 200
        return
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert field in detail and "NUL" in detail
    assert _rows(client) == before


def test_bad_input_console_conversation_id_with_nul_is_404(client: TestClient) -> None:
    """The console's conversation view answers an id with NUL as unknown (PostgreSQL would refuse the query)."""
    r = client.get("/v1/console/conversations/abc%00def", headers={"X-API-Key": STAFF_KEY})
    assert r.status_code == 404


def test_bad_input_on_postgres_is_422_where_the_store_would_fail(
        make_runtime: Callable[..., Runtime], pg_url: str) -> None:
    """On PostgreSQL a NUL or a 64-bit id would fail in the database; the API answers 422 first."""
    store = ConversationStore(pg_url)
    runtime = dataclasses.replace(make_runtime(), conversations=store)
    try:
        with pytest.raises(DBAPIError):  # why the edge must refuse them
            store.record_turn(store.new_id(), "public", "a\x00b", "answer", None, new=True)
        with pytest.raises(DBAPIError):
            store.message(store.create("public"), 2**40, "public")  # "integer out of range"
        with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
            ans = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
            assert ans["message_id"] >= 1
            assert client.post("/v1/chat", json={"message": "a\x00b"}).status_code == 422
            for bad in ({"message_id": 2**31}, {"message_id": ans["message_id"], "comment": "x\x00"}):
                body = {"conversation_id": ans["conversation_id"], "message_id": ans["message_id"], "rating": 1,
                        **bad}
                assert client.post("/v1/feedback", json=body).status_code == 422
            ok = {"conversation_id": ans["conversation_id"], "message_id": ans["message_id"], "rating": 1}
            assert client.post("/v1/feedback", json=ok).status_code == 201
    finally:
        store.close()
