"""A chat that is cut off or fails before its answer leaves no conversation row behind."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from docent.errors import StoreUnavailableError
from docent.schema import Access
from service.app import create_app
from service.conversations import conversations, messages
from service.retrieval import Retrieval, Retriever
from service.runtime import Runtime

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"


class StoreDownError(StoreUnavailableError):
    """A 503 like every store outage (the status comes from service.api.errors.STATUS)."""


class FailingRetriever(Retriever):
    """The real retriever, except that the store is down."""

    def search(self, query: str, access: Access, top_k: int) -> Retrieval:
        raise StoreDownError("The index is not available right now.")


def _counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.conversations.engine.connect() as conn:
        return (int(conn.execute(select(func.count()).select_from(conversations)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(messages)).scalar_one()))


@pytest.fixture
def serve() -> Iterator[Callable[[Runtime], str]]:
    """Run an app over a runtime on a loopback port (a real socket the client can drop)."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(runtime: Runtime) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(create_app(runtime.settings, runtime=runtime), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def test_chat_client_disconnect_mid_stream_leaves_no_conversation(
        make_runtime: Callable[..., Runtime], serve: Callable[[Runtime], str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads the stream's first event and hangs up while the model thinks: nothing is stored."""
    monkeypatch.setenv("DOCENT_FAKE_DELAY_S", "1.5")
    runtime = make_runtime(model="docent-fake/slow", deadline_s=30)
    url = serve(runtime)
    with httpx.Client(base_url=url, timeout=30) as client:
        with client.stream("POST", "/v1/chat", json={"message": ANSWERABLE, "stream": True}) as r:
            assert r.status_code == 200
            first = next(r.iter_lines())
            assert first == "event: meta"
        # Hung up; give the model time to have finished had the server carried on.
        time.sleep(3)
        assert _counts(runtime) == (0, 0)
        # The same server still records a chat that completes: conversation and both turns at once.
        body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answerable"] is True
    assert _counts(runtime) == (1, 2)


def test_chat_failed_answer_leaves_no_conversation(make_runtime: Callable[..., Runtime]) -> None:
    """An answer that fails (the store is down) is a 503 in JSON and an error event in SSE; no row either way."""
    runtime = make_runtime()
    runtime.retriever = FailingRetriever(runtime.store, runtime.embedder, runtime.retriever.sparse)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        r = client.post("/v1/chat", json={"message": ANSWERABLE})
        assert r.status_code == 503
        streamed = client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True})
        assert "event: error" in streamed.text
    assert _counts(runtime) == (0, 0)


def test_chat_follow_up_of_an_unsaved_conversation_is_404(
        make_runtime: Callable[..., Runtime]) -> None:
    """The id announced by a stream that never finished names no conversation (the widget then starts afresh)."""
    runtime = make_runtime()
    runtime.retriever = FailingRetriever(runtime.store, runtime.embedder, runtime.retriever.sparse)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        streamed = client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True})
        cid = streamed.text.split('"conversation_id": "', 1)[1].split('"', 1)[0]
    runtime.retriever = Retriever(runtime.store, runtime.embedder, runtime.retriever.sparse)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        r = client.post("/v1/chat", json={"message": ANSWERABLE, "conversation_id": cid})
    assert r.status_code == 404
