"""Request ids and JSON logs through the real app: one access line per request, no leaked text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.observability.logs import NOISY, TextFormatter, configure_logging, request_id_from, request_id_var
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY, scripted_reply

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"
CANARY = "CANARY-42D3734D"  # docs-corpus/internal/runbooks/support-triage.md
CANARY_QUESTION = "What is the internal macro ID of the Triage: first touch macro for Switchyard automation rules?"


class JsonLog:
    """What the server wrote to stderr, as parsed JSON lines."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self, logger: str | None = None) -> list[dict[str, Any]]:
        out = [json.loads(line) for line in self.text.splitlines() if line.strip()]
        return [x for x in out if logger is None or x["logger"] == logger]


@pytest.fixture
def json_log() -> Iterator[JsonLog]:
    """The server's logging set up as `docent serve` does (JSON, INFO), restored afterwards."""
    root = logging.getLogger()
    names = (*NOISY, "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = (list(root.handlers), root.level,
             {n: (logging.getLogger(n).level, list(logging.getLogger(n).handlers), logging.getLogger(n).propagate,
                  logging.getLogger(n).disabled) for n in names})
    log = JsonLog()
    configure_logging("INFO", "json", stream=log.buffer)
    yield log
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (level, handlers, propagate, disabled) in saved[2].items():
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled


def test_request_id_echoed_when_sane(client: TestClient, json_log: JsonLog) -> None:
    """A plain X-Request-ID comes back as is and tags the single access line."""
    r = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.01_x"})
    assert r.headers["x-request-id"] == "lb-7f3a.01_x"
    access = json_log.lines("docent.access")
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "lb-7f3a.01_x" and line["route"] == "/healthz" and line["status"] == 200
    assert line["method"] == "GET" and line["duration_ms"] >= 0 and line["level"] == "INFO" and line["ts"]


@pytest.mark.parametrize("header", ["has spaces", "x" * 65, "semi;colon", "a/b", ""])
def test_request_id_generated_when_missing_or_insane(client: TestClient, json_log: JsonLog, header: str) -> None:
    """A missing, long or odd X-Request-ID is replaced by a fresh one, never echoed."""
    r = client.get("/healthz", headers={"X-Request-ID": header})
    rid = r.headers["x-request-id"]
    assert rid != header and len(rid) == 32 and int(rid, 16) >= 0
    assert json_log.lines("docent.access")[0]["request_id"] == rid


def test_request_id_unique_per_request(client: TestClient) -> None:
    """Two requests without a header get two ids."""
    assert client.get("/healthz").headers["x-request-id"] != client.get("/healthz").headers["x-request-id"]


def test_chat_lines_carry_request_id_and_outcome(client: TestClient, json_log: JsonLog) -> None:
    """A chat writes its outcome line and one access line, both with the request id; no question by default."""
    for stream in (False, True):
        rid = f"chat-{int(stream)}"
        client.post("/v1/chat", json={"message": ANSWERABLE, "stream": stream}, headers={"X-Request-ID": rid})
        chat = [x for x in json_log.lines("docent.chat") if x["request_id"] == rid]
        access = [x for x in json_log.lines("docent.access") if x["request_id"] == rid]
        assert len(chat) == 1 and len(access) == 1
        assert chat[0]["outcome"] == "answered" and chat[0]["mode"] == ("sse" if stream else "json")
        assert chat[0]["model"] == "docent-fake/echo-cite" and chat[0]["caller"] == "public"
        assert set(chat[0]["timings_ms"]) >= {"retrieve", "generate"} and "question" not in chat[0]
        assert access[0]["route"] == "/v1/chat" and access[0]["status"] == 200
    assert "SOCKS5" not in json_log.text


def test_internal_canary_never_logged(client_for: Callable[..., TestClient], json_log: JsonLog) -> None:
    """Neither internal chunk text quoted for staff nor a public caller's canary question reaches the logs."""
    client = client_for(model="docent-fake/reply")
    with scripted_reply(f"The macro ID is {CANARY} [1]."):
        staff = client.post("/v1/chat", json={"message": CANARY_QUESTION}, headers={"X-API-Key": STAFF_KEY}).json()
        client.post("/v1/chat", json={"message": f"What does {CANARY} mean?"})
        client.post("/v1/chat", json={"message": f"What does {CANARY} mean?", "stream": True})
    assert CANARY in staff["answer"] and staff["citations"][0]["doc_path"].startswith("internal/")
    assert len(json_log.lines("docent.chat")) == 3
    assert CANARY not in json_log.text and "switchyard" not in json_log.text.lower()
    assert "internal/" not in json_log.text


def test_log_questions_staff_logs_only_staff_questions(make_runtime: Callable[..., Runtime],
                                                       json_log: JsonLog) -> None:
    """With log_questions=staff a staff question is logged, a public one still is not."""
    runtime = make_runtime()
    runtime.settings.log_questions = "staff"
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        client.post("/v1/chat", json={"message": "staff asks: " + ANSWERABLE}, headers={"X-API-Key": STAFF_KEY})
        client.post("/v1/chat", json={"message": "public asks: " + ANSWERABLE})
    lines = json_log.lines("docent.chat")
    assert [x.get("question") for x in lines] == ["staff asks: " + ANSWERABLE, None]
    assert [x["caller"] for x in lines] == ["staff", "public"]
    assert "public asks" not in json_log.text


def test_unmatched_path_logged_as_unmatched_with_request_id(client: TestClient, json_log: JsonLog) -> None:
    """A path no route matches still gets an id, and its access line says 404 under 'unmatched'."""
    r = client.get("/no/such/thing", headers={"X-Request-ID": "probe-1"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "probe-1"
    line = json_log.lines("docent.access")[0]
    assert line["route"] == "unmatched" and line["status"] == 404 and "/no/such" not in json_log.text


def test_unhandled_error_logged_as_500_with_request_id(make_runtime: Callable[..., Runtime],
                                                       json_log: JsonLog) -> None:
    """A route that raises is counted and logged as a 500 under its template, with the request id."""
    runtime = make_runtime()
    app = create_app(runtime.settings, runtime=runtime)

    @app.get("/boom/{thing}")
    def boom(thing: str) -> None:
        raise RuntimeError("kaput")

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom/x1", headers={"X-Request-ID": "err-1"}).status_code == 500
        metrics = client.get("/metrics").text
    access = [x for x in json_log.lines("docent.access") if x["request_id"] == "err-1"]
    assert access and access[0]["status"] == 500 and access[0]["route"] == "/boom/{thing}"
    errors = [x for x in json_log.lines() if x["level"] == "ERROR" and x["request_id"] == "err-1"]
    assert errors and "RuntimeError: kaput" in errors[0]["exc"]
    assert 'docent_http_requests_total{method="GET",route="/boom/{thing}",status="500"} 1.0' in metrics


def test_json_formatter_extra_fields_and_exceptions(json_log: JsonLog) -> None:
    """Extra fields become keys; exceptions go in 'exc'; the context's request id is used."""
    token = request_id_var.set("ctx-id")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("docent.test").exception("failed %s", "here", extra={"stage": "retrieve"})
    finally:
        request_id_var.reset(token)
    line = json_log.lines("docent.test")[0]
    assert line["msg"] == "failed here" and line["stage"] == "retrieve" and line["request_id"] == "ctx-id"
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exc"]


def test_text_format_appends_request_id() -> None:
    """The text format is for terminals and still names the request."""
    record = logging.LogRecord("docent.x", logging.INFO, __file__, 1, "hello", None, None)
    record.request_id = "abc"
    assert TextFormatter().format(record).endswith("docent.x: hello [request_id=abc]")


def test_request_id_from_accepts_only_plain_short_ids() -> None:
    """[A-Za-z0-9._-]{1,64} is kept; anything else is replaced."""
    assert request_id_from("a" * 64) == "a" * 64
    assert request_id_from("a" * 65) != "a" * 65
    assert request_id_from("x\ny") != "x\ny" and request_id_from(None)
