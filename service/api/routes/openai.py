"""POST /v1/chat/completions and GET /v1/models: Docent behind the OpenAI Chat Completions API.

For chat front-ends and SDKs that speak OpenAI (Open WebUI, LibreChat, the openai
package). The messages become one Docent question with its history, answered by the
one answer path; the reply's content carries the ``[n]`` markers and a Sources list,
and a ``docent`` field the structured citations. Errors use OpenAI's error body.

``stream: true`` sends the role at once and the checked answer as chunks when it is
ready: the check may renumber markers or withdraw sentences, and an OpenAI client
cannot take back text it has shown (Docent's own SSE lets the widget replace it).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from docent.errors import DocentError, InvalidMessageError, NotFoundError
from docent.settings import ChatSettings
from service.answer import Answer
from service.api.deps import Caller, CallerDep, RuntimeDep
from service.api.errors import headers_for, status_for
from service.api.openai_schemas import (
    ERROR_RESPONSES,
    MODEL_ID,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CompletionUsage,
    Delta,
    DocentExtra,
    Message,
    Model,
    ModelList,
    error_body,
)
from service.api.views import record_turn, to_response
from service.observability import ObservabilityDep
from service.runtime import Runtime

log = logging.getLogger(__name__)
SOURCES = "\n\nSources:\n"  # also how an earlier answer's Sources list is found and cut from history
_CHUNK_CHARS = 64


def _openai_error(status: int, message: str, headers: dict[str, str] | None = None, **kw: str | None) -> JSONResponse:
    return JSONResponse(error_body(status, message, **kw), status_code=status, headers=headers)


def _status(exc: DocentError) -> int:
    status = status_for(exc)
    return 400 if status == 422 else status  # OpenAI says 400 for any invalid request


class OpenAIRoute(APIRoute):
    """A route whose errors (bad input, auth, rate limits, domain errors) use OpenAI's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                err: dict[str, Any] = next(iter(exc.errors()), {})
                where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
                return _openai_error(400, f"Invalid request: {where or 'body'}: {err.get('msg', 'invalid')}",
                                     param=where or None)
            except HTTPException as exc:  # e.g. a body that is not JSON at all ("error parsing the body")
                return _openai_error(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)
            except DocentError as exc:
                return _openai_error(_status(exc), str(exc), headers_for(exc),
                                     code="model_not_found" if isinstance(exc, _UnknownModel) else None,
                                     param="model" if isinstance(exc, _UnknownModel) else None)

        return route


class _UnknownModel(NotFoundError):
    pass


router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)


@router.get("/models", response_model=ModelList, responses=ERROR_RESPONSES)
async def models(caller: CallerDep) -> ModelList:
    """The one model, `docent` (OpenAI-compatible; a wrong key is a 401 here, as at OpenAI)."""
    return ModelList(data=[Model()])


def _text(message: Message) -> str:
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    if any(part.type != "text" for part in message.content):
        raise InvalidMessageError("Only text content is supported.")
    return "\n".join(part.text or "" for part in message.content)


def conversation(messages: list[Message], chat: ChatSettings) -> tuple[str, list[dict[str, str]]]:
    """The question (the last user message) and the history (earlier user/assistant turns)."""
    turns: list[dict[str, str]] = []
    for message in messages:
        text = _text(message)
        if message.role in ("system", "developer"):
            # Docent's own system prompt answers from the docs; a client's cannot replace it.
            log.info("ignored a %s message of %d characters", message.role, len(text))
        elif message.role in ("user", "assistant") and text.strip():
            if message.role == "assistant" and SOURCES in text:
                text = text[:text.rindex(SOURCES)]  # our own Sources list is not part of the conversation
            turns.append({"role": message.role, "content": text})
    if not turns or turns[-1]["role"] != "user":
        raise InvalidMessageError("The last message must be a user message with text.")
    question = turns[-1]["content"]
    if len(question) > chat.max_message_chars:
        raise InvalidMessageError(f"message is {len(question)} characters; the limit is {chat.max_message_chars}.")
    return question, turns[:-1][-2 * chat.history_turns:] if chat.history_turns else []


def _absolute(url: str, base: str) -> str:
    return f"{base}{url}" if url.startswith("/") else url


def content(ans: Answer, chat: ChatSettings, base: str) -> str:
    """The answer with its [n] markers, then a Sources list of links (or where to get help)."""
    if ans.citations:
        lines = [f"[{c.marker}] [{' > '.join(c.heading_path) or c.title}]({_absolute(c.url, base)})"
                 for c in ans.citations]
        return ans.text + SOURCES + "\n".join(lines)
    if not ans.answerable:
        return f"{ans.text}\n\n{chat.support_label}: {chat.support_url}"
    return ans.text


def _extra(ans: Answer, chat: ChatSettings, ident: str, started: float) -> DocentExtra:
    view = to_response(ans, chat, ident, 0, started)  # the citations and handoff exactly as POST /v1/chat gives them
    return DocentExtra(citations=view.citations, answerable=view.answerable, abstain_reason=view.abstain_reason,
                       handoff=view.handoff, degraded=view.degraded)


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "A chat.completion, or chat.completion.chunk events with stream=true"},
                        **ERROR_RESPONSES})
async def chat_completions(body: ChatCompletionRequest, request: Request, runtime: RuntimeDep, caller: CallerDep,
                           obs: ObservabilityDep) -> Any:
    """Answer the last user message from the docs the caller may see (OpenAI Chat Completions)."""
    started = time.perf_counter()
    if body.model != MODEL_ID:
        raise _UnknownModel(f"The model {body.model!r} does not exist; use {MODEL_ID!r}.")
    chat = runtime.settings.chat
    question, history = conversation(body.messages, chat)
    ident, created, base = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), str(request.base_url).rstrip("/")

    async def answer(mode: str) -> Answer:
        ans = await runtime.answerer.answer(question, history, caller.access)
        _record(runtime, caller, question, ans)
        obs.answered(ans, question=question, staff=caller.staff, mode=mode, seconds=time.perf_counter() - started)
        return ans

    if body.stream:
        return StreamingResponse(_chunks(lambda: answer("sse"), chat, ident, created, base, started),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    ans = await answer("json")
    return ChatCompletion(
        id=ident, created=created, choices=[Choice(message=AssistantMessage(content=content(ans, chat, base)))],
        usage=CompletionUsage(prompt_tokens=ans.prompt_tokens, completion_tokens=ans.completion_tokens,
                              total_tokens=ans.prompt_tokens + ans.completion_tokens),
        docent=_extra(ans, chat, ident, started))


def _record(runtime: Runtime, caller: Caller, question: str, ans: Answer) -> None:
    """Each completion is its own stored conversation (the client holds the history), so the console
    and the gap report see questions asked through OpenAI clients too."""
    record_turn(runtime.conversations, caller.scope, runtime.conversations.new_id(), True, question, ans)


def _data(payload: Any) -> str:
    return f"data: {json.dumps(payload)}\n\n"


async def _chunks(answer: Callable[[], Awaitable[Answer]], chat: ChatSettings, ident: str, created: int,
                  base: str, started: float) -> AsyncIterator[str]:
    def chunk(delta: Delta, docent: DocentExtra | None = None) -> str:
        choice = ChunkChoice(delta=delta, finish_reason="stop" if docent else None)
        return _data(ChatCompletionChunk(id=ident, created=created, choices=[choice], docent=docent).model_dump())

    yield chunk(Delta(role="assistant", content=""))  # at once: the client knows the answer is coming
    try:
        ans = await answer()
        text = content(ans, chat, base)
        for i in range(0, len(text), _CHUNK_CHARS):
            yield chunk(Delta(content=text[i:i + _CHUNK_CHARS]))
        yield chunk(Delta(), _extra(ans, chat, ident, started))  # the last chunk: finish_reason and citations
    except DocentError as exc:
        yield _data(error_body(_status(exc), str(exc)))
    except Exception:  # the stream must end with an event, never a silent cut
        log.exception("chat completion stream failed")
        yield _data(error_body(500, "Internal error; it has been logged."))
    yield "data: [DONE]\n\n"
