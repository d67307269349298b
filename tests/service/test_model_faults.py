"""The model server is down, slow, stalls mid-stream or errors: Docent degrades in time.

The model is a real OpenAI-compatible HTTP server in its own process
(tests/service/openai_stub.py), reached through LiteLLM's ``openai/`` provider with
``api_base``, the same path a llama.cpp or vLLM server takes in production.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.answer import DEGRADED_TEXT
from tests.conftest import REPO

DEADLINE_S = 2.0
QUESTION = {"message": "How do I rotate an agent token?"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stub:
    """One openai_stub process on a free port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.service.openai_stub:app", "--port", str(self.port),
             "--log-level", "warning"], cwd=REPO)
        for _ in range(100):
            try:
                httpx.get(f"{self.base}/_state", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("the stub model server did not start")

    def mode(self, mode: str, delay: float = 0.0) -> None:
        httpx.post(f"{self.base}/_mode", json={"mode": mode, "delay": delay}, timeout=5).raise_for_status()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-stub")  # LiteLLM's openai provider wants one
    server = Stub()
    yield server
    server.kill()


@pytest.fixture
def stub_client(stub: Stub, client_for: Callable[..., TestClient]) -> Callable[..., TestClient]:
    def make(**kwargs: Any) -> TestClient:
        kwargs.setdefault("timeout_s", DEADLINE_S)
        return client_for(model="openai/stub", api_base=f"{stub.base}/v1", **kwargs)
    return make


def _sse(client: TestClient) -> tuple[list[tuple[str, dict[str, Any]]], float]:
    started = time.perf_counter()
    events = []
    with client.stream("POST", "/v1/chat", json={**QUESTION, "stream": True}) as response:
        assert response.status_code == 200
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    return events, time.perf_counter() - started


def _assert_degraded(body: dict[str, Any]) -> None:
    assert body["degraded"] is True and body["answerable"] is False
    assert body["answer"].startswith(DEGRADED_TEXT)
    assert body["citations"], "the degraded answer offers the retrieved pages"
    assert body["handoff"] is not None


def test_healthy_stub_answers_with_citations(stub_client: Callable[..., TestClient]) -> None:
    """Control: through the same path, a working server gives a cited answer.

    With a roomy deadline: a loaded machine must not turn the control into a timeout.
    """
    body = stub_client(timeout_s=30).post("/v1/chat", json=QUESTION).json()
    assert body["answerable"] is True and body["citations"] and not body["degraded"]


def test_killed_model_server_gives_degraded_answer_quickly(stub: Stub,
                                                           stub_client: Callable[..., TestClient]) -> None:
    client = stub_client()
    assert client.post("/v1/chat", json=QUESTION).json()["answerable"] is True
    stub.kill()
    started = time.perf_counter()
    response = client.post("/v1/chat", json=QUESTION)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    _assert_degraded(response.json())
    assert elapsed < DEADLINE_S + 1
    events, elapsed = _sse(client)
    assert [name for name, _ in events] == ["meta", "sources", "final"] and elapsed < DEADLINE_S + 1
    _assert_degraded(events[-1][1])


def test_slow_model_degrades_within_deadline_plus_one_second(stub: Stub,
                                                             stub_client: Callable[..., TestClient]) -> None:
    stub.mode("slow", delay=30)
    client = stub_client()
    started = time.perf_counter()
    body = client.post("/v1/chat", json=QUESTION).json()
    elapsed = time.perf_counter() - started
    _assert_degraded(body)
    assert DEADLINE_S - 0.5 <= elapsed < DEADLINE_S + 1
    events, elapsed = _sse(client)
    assert events[-1][0] == "final" and elapsed < DEADLINE_S + 1
    _assert_degraded(events[-1][1])


def test_stream_stalled_mid_answer_ends_with_degraded_final(stub: Stub,
                                                            stub_client: Callable[..., TestClient]) -> None:
    """Text already streamed is replaced by the final event; the stream never hangs."""
    stub.mode("stall")
    events, elapsed = _sse(stub_client())
    names = [name for name, _ in events]
    assert names[0] == "meta" and "delta" in names and names[-1] == "final"
    assert elapsed < DEADLINE_S + 1
    _assert_degraded(events[-1][1])


def test_erroring_primary_falls_back_to_the_next_model(stub: Stub, stub_client: Callable[..., TestClient]) -> None:
    stub.mode("error")
    body = stub_client(fallbacks=["docent-fake/echo-cite"]).post("/v1/chat", json=QUESTION).json()
    assert body["answerable"] is True and body["citations"]
    assert body["usage"]["fallback_used"] is True


def test_every_model_failing_degrades_with_a_safe_message(stub: Stub,
                                                          stub_client: Callable[..., TestClient]) -> None:
    stub.mode("error")
    response = stub_client(fallbacks=["docent-fake/fail"]).post("/v1/chat", json=QUESTION)
    assert response.status_code == 200
    _assert_degraded(response.json())
    assert "stub failure" not in response.text and "Traceback" not in response.text
