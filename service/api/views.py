"""The API's view of domain objects: shared by the routes and the CLI (`docent ask`)."""

from __future__ import annotations

import time
from dataclasses import asdict

from docent.settings import ChatSettings
from service.answer import Answer
from service.api.schemas import ChatResponse


def to_response(ans: Answer, chat: ChatSettings, cid: str, message_id: int, started: float) -> ChatResponse:
    """The API's view of an answer (also printed by `docent ask`)."""
    handoff = None if ans.answerable else {"label": chat.support_label, "url": chat.support_url}
    return ChatResponse.model_validate({
        "answer": ans.text,
        "citations": [asdict(c) for c in ans.citations],
        "answerable": ans.answerable,
        "conversation_id": cid,
        "message_id": message_id,
        "usage": {"model": ans.model or "none", "prompt_tokens": ans.prompt_tokens,
                  "completion_tokens": ans.completion_tokens, "fallback_used": ans.fallback_used},
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "handoff": handoff,
        "abstain_reason": ans.abstain_reason,
        "degraded": ans.degraded,
        "uncited_sentences": ans.uncited_sentences,
        "unsupported_sentences": ans.unsupported_sentences,
        "grounding": ans.grounding,
        "answer_mode": ans.answer_mode,
        "rewritten_query": ans.rewritten_query,
    })
