"""Request and response models: pydantic at the HTTP edge only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Message ids are the conversation store's integer keys: 32-bit on PostgreSQL, so a larger
# number can name no message (and would overflow the query) rather than be looked up.
MAX_ID = 2**31 - 1


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL (the insert or query fails): refuse it at the edge, as 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string that is stored or used in a query: no NUL characters."""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: Text = Field(max_length=8000)


class ChatRequest(BaseModel):
    """A question, optionally continuing a conversation."""

    model_config = ConfigDict(extra="forbid")
    message: Text = Field(min_length=1, max_length=100_000, description="The user's question.")
    conversation_id: Text | None = Field(None, max_length=64, description="Continue this conversation.")
    stream: bool = Field(False, description="Answer as Server-Sent Events.")


class CitationOut(BaseModel):
    marker: int = Field(description="The number used in the answer text, e.g. [1].")
    chunk_id: str
    title: str
    heading_path: list[str]
    url: str = Field(description="Doc URL including the #anchor of the section.")
    snippet: str
    doc_path: str


class SourceOut(BaseModel):
    """A candidate source, as the prompt numbers it; sent before the answer (SSE `sources`)."""

    n: int = Field(description="The source's number in the prompt (1 is the first retrieved).")
    chunk_id: str
    title: str
    section: str = Field(description="The heading path below the page title, e.g. \"Setup > Proxy\".")
    url: str = Field(description="Doc URL including the #anchor of the section.")
    snippet: str = Field(description="The start of the source's text, markup removed (about 200 characters).")
    doc_path: str


class Usage(BaseModel):
    model: str
    prompt_tokens: int
    completion_tokens: int
    fallback_used: bool


class Handoff(BaseModel):
    label: str
    url: str


class ChatResponse(BaseModel):
    answer: str = Field(description="Answer text with inline [n] markers.")
    citations: list[CitationOut]
    sources: list[SourceOut] = Field(
        default_factory=list,
        description="Every source the answer was looked for in (the caller may see all of them), in prompt order; "
                    "the citations are among them.")
    answerable: bool
    conversation_id: str
    message_id: int
    usage: Usage
    latency_ms: float
    handoff: Handoff | None = Field(None, description="Where to get human help when the docs do not answer.")
    abstain_reason: str | None = None
    degraded: bool = False
    uncited_sentences: list[str] = Field(default_factory=list,
                                         description="Answer sentences that carry no citation marker.")
    unsupported_sentences: list[str] = Field(
        default_factory=list,
        description="Sentences the model wrote that their sources do not support: withdrawn, never shown.")
    grounding: float | None = Field(
        None, description="Supported share of the model's checked sentences before withdrawal (null: none checked).")
    answer_mode: str = Field("generative", description="extractive (source sentences verbatim) or generative.")
    rewritten_query: str
    cached: bool = Field(False, description="Served from the answer cache: an earlier answer to the same or a "
                                            "closely paraphrased question, its sources checked unchanged.")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=2000)
    top_k: int = Field(5, ge=1, le=50)


class SearchResult(BaseModel):
    chunk_id: str
    doc_path: str = Field(description="Path relative to the docs folder.")
    title: str
    heading_path: list[str]
    url: str
    score: float
    similarity: float = Field(description="Dense cosine similarity to the query.")
    text: str = Field(description="The chunk's text, cut to chat.max_result_chars characters (default 4000).")


class SearchResponse(BaseModel):
    results: list[SearchResult]
    latency_ms: float


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: Text = Field(max_length=64)
    message_id: int = Field(ge=1, le=MAX_ID)
    rating: Literal[1, -1] = Field(description="1 thumbs up, -1 thumbs down.")
    comment: Text | None = Field(None, max_length=2000)


class ErrorBody(BaseModel):
    detail: str
