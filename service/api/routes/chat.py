"""POST /v1/chat (JSON or Server-Sent Events) and POST /v1/feedback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from docent.errors import DocentError, InvalidMessageError
from service.answer import Answer
from service.api.deps import Caller, CallerDep, RuntimeDep
from service.api.errors import status_for
from service.api.schemas import ChatRequest, ChatResponse, ErrorBody, FeedbackRequest
from service.api.views import record_turn, to_response, to_sources
from service.observability import Observability, ObservabilityDep
from service.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["chat"])
log = logging.getLogger(__name__)

SSE_EVENTS = (
    "JSON, or with stream=true Server-Sent Events in this order: `meta` (`conversation_id`); `sources` "
    "(`sources`: the candidate sources the caller may see, numbered as the prompt numbers them, sent right after "
    "retrieval and before any model work: `n`, `title`, `section`, `url` with #anchor, `snippet`, `doc_path`, "
    "`chunk_id`); `delta`... (`text`); then `final` (the JSON response, with the same `sources`) or `error` "
    "(`detail`, `status`).")


def _start(body: ChatRequest, runtime: Runtime, caller: Caller) -> tuple[str, list[dict[str, str]], bool]:
    """The conversation id, its recent history, and whether it is new (created with its first turn)."""
    limit = runtime.settings.chat.max_message_chars
    if len(body.message) > limit:
        raise InvalidMessageError(f"message is {len(body.message)} characters; the limit is {limit}.")
    if not body.message.strip():
        raise InvalidMessageError("message is empty.")
    store = runtime.conversations
    if body.conversation_id:
        return body.conversation_id, store.history(body.conversation_id, caller.scope,
                                                   runtime.settings.chat.history_turns), False
    # Not stored yet: the row is written with the first answer, so an interrupted chat leaves none.
    return store.new_id(), [], True


@router.post("/chat", response_model=ChatResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": SSE_EVENTS},
                        404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}})
async def chat(body: ChatRequest, runtime: RuntimeDep, caller: CallerDep, obs: ObservabilityDep) -> Any:
    """Answer a question from the docs the caller may see, with citations, or abstain with a handoff."""
    started = time.perf_counter()
    cid, history, new = _start(body, runtime, caller)
    if body.stream:
        return StreamingResponse(_sse(body.message, history, cid, new, runtime, caller, started, obs),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    ans = await runtime.answerer.answer(body.message, history, caller.access)
    message_id = record_turn(runtime.conversations, caller.scope, cid, new, body.message, ans)
    obs.answered(ans, question=body.message, staff=caller.staff, mode="json", seconds=time.perf_counter() - started)
    return to_response(ans, runtime.settings.chat, cid, message_id, started)


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def _sse(question: str, history: list[dict[str, str]], cid: str, new: bool, runtime: Runtime,
               caller: Caller, started: float, obs: Observability) -> AsyncIterator[str]:
    yield _event("meta", {"conversation_id": cid})
    try:
        async for kind, payload in runtime.answerer.stream(question, history, caller.access):
            if kind == "sources":
                assert isinstance(payload, list)
                yield _event("sources", {"sources": [s.model_dump() for s in to_sources(payload)]})
            elif kind == "delta":
                yield _event("delta", {"text": payload})
            else:
                assert isinstance(payload, Answer)  # "final": the checked answer, always last
                message_id = record_turn(runtime.conversations, caller.scope, cid, new, question, payload)
                obs.answered(payload, question=question, staff=caller.staff, mode="sse",
                             seconds=time.perf_counter() - started)
                final = to_response(payload, runtime.settings.chat, cid, message_id, started)
                yield _event("final", final.model_dump())
    except DocentError as exc:
        yield _event("error", {"detail": str(exc), "status": status_for(exc)})
    except Exception:  # the stream must end with an event, never a silent cut
        log.exception("chat stream failed")
        yield _event("error", {"detail": "Internal error; it has been logged.", "status": 500})


def _evict_rated(runtime: Runtime, cid: str, message_id: int, scope: str) -> None:
    """A thumbs-down on a cached answer, or on the answer that filled an entry, evicts that entry."""
    assert runtime.answer_cache is not None
    entry_id = (runtime.conversations.message(cid, message_id, scope)["meta"] or {}).get("cache_entry")
    if entry_id:
        try:
            runtime.answer_cache.evict(str(entry_id))
        except Exception:  # Redis down: the feedback itself is stored; the entry ages out
            log.exception("could not evict answer cache entry %s after a thumbs-down", entry_id)


@router.post("/feedback", status_code=201, responses={404: {"model": ErrorBody}})
async def feedback(body: FeedbackRequest, runtime: RuntimeDep, caller: CallerDep,
                   obs: ObservabilityDep) -> dict[str, int]:
    """Thumbs up or down on one answer, stored with the question, answer, citations and model."""
    fid = runtime.conversations.add_feedback(body.conversation_id, body.message_id, caller.scope, body.rating,
                                             body.comment)
    obs.feedback(body.rating)
    if body.rating < 0 and runtime.answer_cache is not None:
        _evict_rated(runtime, body.conversation_id, body.message_id, caller.scope)
    return {"id": fid}
