"""Optional OpenTelemetry traces (the ``otel`` extra).

On when ``tracing.otlp_endpoint`` (``DOCENT_TRACING__OTLP_ENDPOINT``) or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. FastAPI's instrumentation makes the server
span; after each chat answer the route adds a ``docent.chat.answer`` span with one child
per stage (rewrite, retrieve, rerank, generate), placed one after another from the
recorded durations because the answering code itself is not instrumented. Span
attributes hold only closed-set values and numbers: never question or chunk text.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from fastapi import FastAPI

from docent.settings import TracingSettings
from service.observability.metrics import STAGES, AnswerLike, outcome

log = logging.getLogger(__name__)

# Scrapes and probes would drown the traces.
EXCLUDED_URLS = "/metrics,/healthz,/readyz"


def _endpoint(settings: TracingSettings) -> str | None:
    return (settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None)


def setup(app: FastAPI, settings: TracingSettings) -> Any | None:
    """Instrument ``app`` and return a tracer when tracing is configured and installed, else None."""
    endpoint = _endpoint(settings)
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("tracing is configured (OTLP endpoint %s) but OpenTelemetry is not installed; "
                    "install it with `pip install 'docent[otel]'`. Continuing without traces.", endpoint)
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    # Our setting is a base URL like the standard variable; the exporter wants the traces path.
    url = settings.otlp_endpoint
    if url and not url.rstrip("/").endswith("/v1/traces"):
        url = url.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    log.info("tracing to %s", url or endpoint)
    return instrument(app, provider)


def instrument(app: FastAPI, provider: Any) -> Any | None:
    """Add FastAPI's server spans to ``app`` using ``provider``; the tracer for Docent's own spans."""
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError:
        log.warning("opentelemetry-instrumentation-fastapi is not installed; "
                    "install `docent[otel]`. Continuing without traces.")
        return None
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    return provider.get_tracer("docent")


def trace_answer(tracer: Any, ans: AnswerLike, *, mode: str, model: str, seconds: float) -> None:
    """Record a finished answer as a span (ending now) with a child span per stage."""
    end_ns = time.time_ns()
    start_ns = end_ns - int(seconds * 1e9)
    span = tracer.start_span("docent.chat.answer", start_time=start_ns, attributes={
        "docent.mode": mode, "docent.outcome": outcome(ans), "docent.abstain_reason": ans.abstain_reason or "",
        "docent.degraded": ans.degraded, "docent.fallback_used": ans.fallback_used,
        "gen_ai.request.model": model, "gen_ai.usage.input_tokens": ans.prompt_tokens,
        "gen_ai.usage.output_tokens": ans.completion_tokens})
    from opentelemetry import trace

    parent = trace.set_span_in_context(span)
    at = start_ns
    for stage in STAGES:
        ms = ans.timings_ms.get(stage)
        if ms is None:
            continue
        took = int(ms * 1e6)
        child = tracer.start_span(f"docent.{stage}", context=parent, start_time=at,
                                  attributes={"docent.duration_reconstructed": True})
        child.end(end_time=min(at + took, end_ns))
        at = min(at + took, end_ns)
    span.end(end_time=end_ns)
