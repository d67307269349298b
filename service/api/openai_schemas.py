"""The OpenAI Chat Completions shapes Docent speaks at /v1/chat/completions and /v1/models.

Only what Docent uses is modelled; other request fields OpenAI clients send
(temperature, max_tokens, tools, ...) are accepted and ignored, since the answer
comes from the docs with Docent's own settings. Replies add a ``docent`` field with
the structured citations; clients that do not know it ignore it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api.schemas import CitationOut, Handoff, Text

MODEL_ID = "docent"


class TextPart(BaseModel):
    """One part of a message's content list; only text parts are understood."""

    model_config = ConfigDict(extra="ignore")
    type: str
    text: Text | None = Field(None, max_length=100_000)


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | list[TextPart] | None = Field(None, max_length=100_000)


class ChatCompletionRequest(BaseModel):
    """A chat: the last user message is the question, earlier user/assistant turns are history."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(MODEL_ID, max_length=200, description="Always `docent`.")
    messages: list[Message] = Field(min_length=1, max_length=200)
    stream: bool = Field(False, description="Answer as `chat.completion.chunk` Server-Sent Events.")


class DocentExtra(BaseModel):
    """What an OpenAI reply cannot carry: structured citations and why Docent did not answer."""

    citations: list[CitationOut]
    answerable: bool
    abstain_reason: str | None = None
    handoff: Handoff | None = None
    degraded: bool = False


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[Choice]
    usage: CompletionUsage
    docent: DocentExtra


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str = MODEL_ID
    choices: list[ChunkChoice]
    docent: DocentExtra | None = None


class Model(BaseModel):
    id: str = MODEL_ID
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "docent"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorDetail


# status -> (type, code), as OpenAI names them.
ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", None),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
}


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The OpenAI error body for an HTTP status."""
    kind, default_code = ERROR_KINDS.get(status, ("server_error", None))
    return OpenAIError(error=ErrorDetail(message=message, type=kind, param=param,
                                         code=code or default_code)).model_dump()


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIError, "description": kind} for status, (kind, _) in ERROR_KINDS.items()
    if status in (400, 401, 404, 429, 503)
}
