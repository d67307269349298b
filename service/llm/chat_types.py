"""The ``ChatModel`` interface and the values it returns.

Free of LiteLLM imports so that callers (the answer pipeline, eval, tests) can type
against it cheaply; ``service.llm.chat_model.RouterChatModel`` implements it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

ResponseFormat = Mapping[str, Any]
"""OpenAI style: ``{"type": "json_object"}``, or
``{"type": "json_schema", "json_schema": {"schema": ...}}`` for schema-constrained output."""


class ChatMessage(TypedDict):
    """One chat turn; ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True)
class Completion:
    """A whole answer and who produced it."""

    text: str
    model: str
    """The LiteLLM model string of the deployment that answered, e.g. ``docent-local/qwen2.5-coder-1.5b``."""
    prompt_tokens: int
    completion_tokens: int
    fallback_used: bool
    finish_reason: str = "stop"


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer, in order."""

    text: str


@dataclass(frozen=True)
class StreamEnd:
    """Always the last event of a stream that did not fail: who answered, and usage."""

    model: str
    prompt_tokens: int
    completion_tokens: int
    fallback_used: bool
    finish_reason: str = "stop"


StreamEvent = TextDelta | StreamEnd


class ChatModel(Protocol):
    """Generates answers; retries, fallbacks and the overall deadline live inside.

    Every method raises ``ModelUnavailableError`` (or another ``DocentError`` with a
    safe message, such as ``ModelFileError``) when no model answers in time. A stream
    can fail after some deltas; consumers end it with an error event.
    """

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: ResponseFormat | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: ResponseFormat | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[StreamEvent]: ...

    def complete_sync(
        self,
        messages: Sequence[ChatMessage],
        *,
        response_format: ResponseFormat | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion: ...
