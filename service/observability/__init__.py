"""Metrics, structured logs with request ids, and optional traces, for one app.

``install(app, settings)`` is called by the app factory; routes reach the app's
:class:`Observability` through ``ObservabilityDep`` and report each finished answer
with :meth:`Observability.answered`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from docent.settings import Settings
from service.observability import tracing
from service.observability.metrics import AnswerLike, Metrics, model_label, outcome
from service.observability.middleware import ObservabilityMiddleware

log = logging.getLogger("docent.chat")


@dataclass(slots=True)
class Observability:
    """What an app reports to: its metrics (None when disabled) and tracer (None when off)."""

    metrics: Metrics | None
    tracer: Any | None = None
    log_questions: str = "off"
    metrics_token: str | None = None

    def answered(self, ans: AnswerLike, *, question: str, staff: bool, mode: str, seconds: float) -> None:
        """Count, trace and log one finished answer.

        The question is logged only as ``log_questions`` allows (staff callers, or all);
        retrieved text, titles and URLs never are.
        """
        if self.metrics is not None:
            self.metrics.observe_answer(ans, mode=mode, seconds=seconds)
        model = model_label(ans.model, self.metrics.models) if self.metrics and ans.model else (ans.model or "none")
        if self.tracer is not None:
            try:
                tracing.trace_answer(self.tracer, ans, mode=mode, model=model, seconds=seconds)
            except Exception:  # tracing must never fail an answer
                log.warning("could not record the answer's trace", exc_info=True)
        fields: dict[str, Any] = {
            "mode": mode, "outcome": outcome(ans), "abstain_reason": ans.abstain_reason, "model": model,
            "prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
            "fallback_used": ans.fallback_used, "degraded": ans.degraded, "caller": "staff" if staff else "public",
            "duration_ms": round(seconds * 1000, 1),
            "timings_ms": {k: round(v, 1) for k, v in ans.timings_ms.items()},
        }
        if self.log_questions == "all" or (self.log_questions == "staff" and staff):
            fields["question"] = question
        log.info("chat %s", fields["outcome"], extra=fields)

    def feedback(self, rating: int) -> None:
        if self.metrics is not None:
            self.metrics.observe_feedback(rating)


def install(app: FastAPI, settings: Settings) -> Observability:
    """Attach metrics, the request middleware and (when configured) tracing to ``app``."""
    llm = settings.resolved_llm()
    metrics = Metrics([llm.model, *llm.fallbacks]) if settings.metrics.enabled else None
    obs = Observability(metrics, log_questions=settings.log_questions, metrics_token=settings.metrics.token)
    app.state.observability = obs
    obs.tracer = tracing.setup(app, settings.tracing)
    # Added last, so it wraps CORS and the routes: every response gets its request id.
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    return obs


def get_observability(request: Request) -> Observability:
    obs: Observability = request.app.state.observability
    return obs


ObservabilityDep = Annotated[Observability, Depends(get_observability)]
