"""Prometheus metrics: one registry per app, labels only from closed sets.

Every label value comes from code or configuration (route templates, stage names,
abstention reasons, the configured model chain), never from a request body or a
document, so no question, chunk text, title or URL can reach a scrape. Anything outside
the closed set is reported as ``other``.

With several uvicorn workers each process counts alone; set ``PROMETHEUS_MULTIPROC_DIR``
(an empty directory, before the workers start) and ``/metrics`` aggregates all of them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

log = logging.getLogger(__name__)

STAGES = ("rewrite", "retrieve", "rerank", "generate")
ABSTAIN_REASONS = ("no_results", "low_relevance", "model_declined", "uncited", "empty", "model_unavailable")
MODES = ("json", "sse")
OTHER = "other"
# The in-process local provider costs nothing. Any other model LiteLLM's price map does not
# know (a provider a plugin registers, a self-hosted server) also counts as 0: see cost_usd.
FREE_PROVIDERS = ("docent-local/",)
# Seconds; from a cached embedding lookup to a slow local model's full answer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class AnswerLike(Protocol):
    """The fields of ``service.answer.Answer`` that metrics read."""

    @property
    def answerable(self) -> bool: ...
    @property
    def model(self) -> str: ...
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def completion_tokens(self) -> int: ...
    @property
    def fallback_used(self) -> bool: ...
    @property
    def abstain_reason(self) -> str | None: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def timings_ms(self) -> dict[str, float]: ...


def closed(value: str | None, allowed: Iterable[str]) -> str:
    """``value`` if it is one of ``allowed``, else ``other``."""
    return value if value is not None and value in allowed else OTHER


def model_label(model: str, configured: Iterable[str]) -> str:
    """The configured model string that answered, or ``other``.

    LiteLLM may report a deployment's model without its provider prefix
    (``gpt-4o-mini`` for ``openai/gpt-4o-mini``), so the bare names are compared too.
    """
    configured = tuple(configured)
    if model in configured:
        return model
    bare = model.split("/", 1)[-1]
    for name in configured:
        if name.split("/", 1)[-1] == bare:
            return name
    return OTHER


def outcome(ans: AnswerLike) -> str:
    """answered, abstained or degraded: a closed set for the latency histogram."""
    if ans.degraded:
        return "degraded"
    return "answered" if ans.answerable else "abstained"


class Metrics:
    """Docent's metric families in their own registry (so tests and apps never share counts)."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self.models = tuple(dict.fromkeys(models))
        self.registry = CollectorRegistry(auto_describe=True)
        self._unpriced: set[str] = set()
        r = self.registry
        self.requests = Counter("docent_http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("docent_http_request_duration_seconds",
                                         "HTTP request latency (to the last body byte) by route template.",
                                         ["route", "method"], buckets=LATENCY_BUCKETS, registry=r)
        self.chat_seconds = Histogram("docent_chat_duration_seconds",
                                      "End-to-end /v1/chat latency, to the final answer, by mode and outcome.",
                                      ["mode", "outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.stage_seconds = Histogram("docent_chat_stage_duration_seconds",
                                       "Time spent in each answering stage.", ["stage"],
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.answers = Counter("docent_chat_answers", "Chat answers by outcome (answered, abstained, degraded).",
                               ["outcome"], registry=r)
        self.abstentions = Counter("docent_chat_abstentions", "Abstentions by reason.", ["reason"], registry=r)
        self.degraded = Counter("docent_chat_degraded", "Answers degraded to a list of pages (every model failed).",
                                registry=r)
        self.fallbacks = Counter("docent_llm_fallbacks", "Answers produced by a fallback model, by that model.",
                                 ["model"], registry=r)
        self.tokens = Counter("docent_llm_tokens", "Answer-generation tokens by model and kind (prompt, completion).",
                              ["model", "kind"], registry=r)
        self.cost = Counter("docent_llm_cost_usd", "Estimated answer-generation cost in USD (LiteLLM's local price "
                            "map; local and unpriced models count 0).", ["model"], registry=r)
        self.feedback = Counter("docent_feedback", "Feedback received, by rating (up, down).", ["rating"], registry=r)
        for stage in STAGES:
            self.stage_seconds.labels(stage)
        for reason in ABSTAIN_REASONS:
            self.abstentions.labels(reason)
        for rating in ("up", "down"):
            self.feedback.labels(rating)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route, method).observe(seconds)

    def observe_answer(self, ans: AnswerLike, *, mode: str, seconds: float) -> None:
        """Record one finished chat answer: latency, stages, outcome, usage and cost."""
        kind = outcome(ans)
        self.chat_seconds.labels(closed(mode, MODES), kind).observe(seconds)
        self.answers.labels(kind).inc()
        for stage, ms in ans.timings_ms.items():
            if stage in STAGES:
                self.stage_seconds.labels(stage).observe(ms / 1000)
        if ans.abstain_reason is not None:
            self.abstentions.labels(closed(ans.abstain_reason, ABSTAIN_REASONS)).inc()
        if ans.degraded:
            self.degraded.inc()
        if not ans.model:
            return  # abstained before any model was called
        model = model_label(ans.model, self.models)
        if ans.fallback_used:
            self.fallbacks.labels(model).inc()
        self.tokens.labels(model, "prompt").inc(ans.prompt_tokens)
        self.tokens.labels(model, "completion").inc(ans.completion_tokens)
        self.cost.labels(model).inc(self.cost_usd(ans.model, ans.prompt_tokens, ans.completion_tokens))

    def observe_feedback(self, rating: int) -> None:
        self.feedback.labels("up" if rating > 0 else "down").inc()

    def cost_usd(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost from LiteLLM's bundled price map (offline); 0 for local models and any it cannot price."""
        if model.startswith(FREE_PROVIDERS) or model in self._unpriced or not (prompt_tokens or completion_tokens):
            return 0.0
        import litellm

        try:
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        except Exception:  # LiteLLM raises a variety of errors for models it cannot price
            log.info("no price for model %s in LiteLLM's cost map; counting its cost as 0", model)
            self._unpriced.add(model)
            return 0.0
        return float(prompt_cost) + float(completion_cost)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type (aggregated over workers in multiprocess mode)."""
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

