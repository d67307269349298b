"""Optional OpenTelemetry traces: server spans plus answer and stage spans, in memory."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from docent.settings import TracingSettings
from service.app import create_app
from service.observability import tracing
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY, scripted_reply

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"
CANARY = "CANARY-42D3734D"  # docs-corpus/internal/runbooks/support-triage.md


def test_tracing_spans_for_chat(make_runtime: Callable[..., Runtime]) -> None:
    """A chat yields the server span, a docent.chat.answer child and one span per stage, without text."""
    pytest.importorskip("opentelemetry.sdk")
    pytest.importorskip("opentelemetry.instrumentation.fastapi")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime = make_runtime(model="docent-fake/reply")
    app = create_app(runtime.settings, runtime=runtime)
    app.state.observability.tracer = tracing.instrument(app, provider)
    with TestClient(app) as client, scripted_reply(f"The macro ID is {CANARY} [1]."):
        body = client.post("/v1/chat", json={"message": "What is the Triage first touch macro ID?", "stream": True},
                           headers={"X-API-Key": STAFF_KEY})
        assert CANARY in body.text
        client.get("/metrics")
    spans = exporter.get_finished_spans()
    by_name = {s.name: s for s in spans}
    answer = by_name["docent.chat.answer"]
    server = next(s for s in spans if s.kind.name == "SERVER")
    assert server.name.startswith("POST /v1/chat")
    assert answer.context.trace_id == server.context.trace_id
    assert answer.attributes is not None and answer.attributes["docent.outcome"] == "answered"
    assert answer.attributes["gen_ai.request.model"] == "docent-fake/reply"
    for stage in ("retrieve", "generate"):
        child = by_name[f"docent.{stage}"]
        assert child.parent is not None and child.parent.span_id == answer.context.span_id
        assert child.start_time is not None and answer.start_time is not None and child.start_time >= answer.start_time
    assert not [s for s in spans if "/metrics" in s.name]
    dumped = " ".join(f"{s.name} {dict(s.attributes or {})}" for s in spans)
    assert CANARY not in dumped and "Triage" not in dumped


def test_tracing_off_without_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """No endpoint anywhere: no tracer, no instrumentation."""
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.setup(FastAPI(), TracingSettings()) is None


def test_tracing_requested_without_extra_warns_and_continues(monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """An endpoint without the otel extra installed logs how to install it and serves untraced."""
    for name in ("opentelemetry.sdk.trace", "opentelemetry.sdk.resources",
                 "opentelemetry.exporter.otlp.proto.http.trace_exporter"):
        monkeypatch.setitem(sys.modules, name, None)  # makes the import fail like a missing package
    with caplog.at_level(logging.WARNING, logger="service.observability.tracing"):
        assert tracing.setup(FastAPI(), TracingSettings(otlp_endpoint="http://collector:4318")) is None
    assert "docent[otel]" in caplog.text and "Continuing without traces" in caplog.text


def test_tracing_setup_with_endpoint_instruments(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the extra installed and an endpoint set, setup returns a tracer (nothing is sent until spans end)."""
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    pytest.importorskip("opentelemetry.instrumentation.fastapi")
    assert tracing.setup(FastAPI(), TracingSettings(otlp_endpoint="http://127.0.0.1:9")) is not None
