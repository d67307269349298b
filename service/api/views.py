"""The API's view of domain objects: shared by the routes and the CLI (`docent ask`)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict

from docent.schema import Hit
from docent.settings import ChatSettings
from service.answer import Answer
from service.api.schemas import ChatResponse, SourceOut
from service.conversations import ConversationStore

SNIPPET_CHARS = 200
# Document text is hostile input: every pattern here is linear (bounded, no nested quantifiers).
_NOISE_LINE = re.compile(r"^[ \t]{0,8}(?:#{1,6}[ \t]|```|~~~|\|?[ \t]{0,4}:?-{3,}).*$", re.M)
_LINK = re.compile(r"!?\[([^\]\n]{0,300})\]\([^)\s]{0,1000}\)")
_MARKS = re.compile(r"^[ \t]{0,8}(?:[-*+>][ \t]|\d{1,3}[.)][ \t])|\|", re.M)  # list markers, quotes, table pipes
# Dropped without a space ("`days`," stays "days,"); "__" is left alone: DOCENT_CHAT__TOP_K is a name.
_EMPHASIS = re.compile(r"\*\*|`")
_SPACE = re.compile(r"\s+")


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a chunk's text as plain prose: headings, fences and markup dropped, cut at a word."""
    head = text[: limit * 6]  # enough prose survives the clean-up; the rest is never scanned
    plain = _SPACE.sub(" ", _EMPHASIS.sub("", _MARKS.sub(" ", _LINK.sub(r"\1", _NOISE_LINE.sub(" ", head))))).strip()
    if len(plain) <= limit:
        return plain
    cut = plain[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:.") + " …"


def to_sources(hits: list[Hit]) -> list[SourceOut]:
    """The candidate sources, numbered as the prompt numbers them: the SSE `sources` event and the JSON field.

    ``hits`` is the retriever's access-filtered list, so nothing here is beyond the caller's reach.
    """
    return [SourceOut(n=n, chunk_id=h.chunk_id, title=str(h.payload.get("title", "")), section=h.section,
                      url=str(h.payload.get("url", "")), snippet=snippet(h.text), doc_path=h.doc_path)
            for n, h in enumerate(hits, start=1)]


def to_response(ans: Answer, chat: ChatSettings, cid: str, message_id: int, started: float) -> ChatResponse:
    """The API's view of an answer (also printed by `docent ask`)."""
    handoff = None if ans.answerable else {"label": chat.support_label, "url": chat.support_url}
    return ChatResponse.model_validate({
        "answer": ans.text,
        "citations": [asdict(c) for c in ans.citations],
        "sources": to_sources(ans.retrieval.hits),
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
        "cached": ans.cached,
    })


def record_turn(store: ConversationStore, scope: str, cid: str, new: bool, question: str, ans: Answer) -> int:
    """Store the turn (and a new conversation) at once; the meta is what the staff console shows about why.

    Every way in (the chat route, the OpenAI-compatible route, MCP ``ask_docs``) records its
    turns here, so the console, feedback and the gap report see every question.
    """
    meta = {
        "citations": [asdict(c) for c in ans.citations],
        "answerable": ans.answerable, "abstain_reason": ans.abstain_reason, "model": ans.model,
        "rewritten_query": ans.rewritten_query, "timings_ms": ans.timings_ms,
        "unsupported_sentences": ans.unsupported_sentences, "grounding": ans.grounding,
        "answer_mode": ans.answer_mode,
        # The answer cache entry this answer came from or created: a thumbs-down evicts it.
        "cached": ans.cached, "cache_entry": ans.cache_id,
        "retrieved": [{"chunk_id": h.chunk_id, "doc_path": h.doc_path, "score": h.score,
                       "similarity": round(h.similarity, 4)} for h in ans.retrieval.hits],
    }
    # Abstentions are stored as the user saw them, never with model text.
    return store.record_turn(cid, scope, question, ans.text, meta, new=new)
