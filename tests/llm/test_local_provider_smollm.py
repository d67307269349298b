"""The docent-local provider with the real SmolLM2-135M GGUF, through RouterChatModel."""

from __future__ import annotations

from docent.offline import ensure_offline

ensure_offline()  # before litellm is imported

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import pytest  # noqa: E402

from service.llm.chat_model import RouterChatModel  # noqa: E402
from service.llm.chat_types import ChatMessage, StreamEnd, TextDelta  # noqa: E402

pytestmark = pytest.mark.slow

MakeModel = Callable[..., RouterChatModel]
SMOLLM = "docent-local/smollm2-135m"
QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Name three colours."},
]


@pytest.fixture
def smollm(make_model: MakeModel) -> RouterChatModel:
    """SmolLM2 with short, deterministic-ish answers."""
    return make_model(SMOLLM, temperature=0, max_tokens=48, timeout_s=120)


def test_local_complete_returns_text_and_usage(smollm: RouterChatModel) -> None:
    """A completion from the local model has text, usage and names the local model."""
    result = asyncio.run(smollm.complete(QUESTION))
    assert result.text.strip()
    assert result.model == SMOLLM and not result.fallback_used
    assert result.prompt_tokens > 10 and 0 < result.completion_tokens <= 48


def test_local_stream_yields_several_deltas(smollm: RouterChatModel) -> None:
    """Streaming from llama.cpp yields token deltas and a StreamEnd with usage."""

    async def run() -> list[TextDelta | StreamEnd]:
        return [event async for event in smollm.stream(QUESTION)]

    events = asyncio.run(run())
    assert sum(isinstance(e, TextDelta) for e in events) >= 2
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.model == SMOLLM
    assert end.prompt_tokens > 10 and end.completion_tokens >= 2


def test_local_json_object_returns_parseable_json(smollm: RouterChatModel) -> None:
    """response_format json_object constrains the local model to valid JSON."""
    messages: list[ChatMessage] = [
        {"role": "user", "content": 'Return a JSON object with one key "colour" whose value is a colour.'}
    ]
    result = asyncio.run(smollm.complete(messages, response_format={"type": "json_object"}, max_tokens=64))
    assert isinstance(json.loads(result.text), dict)


def test_local_json_schema_follows_schema(smollm: RouterChatModel) -> None:
    """A json_schema response_format yields JSON with the schema's required key and type."""
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "Score", "schema": schema}}
    messages: list[ChatMessage] = [{"role": "user", "content": "Rate blue from 1 to 5 as JSON."}]
    data = json.loads(asyncio.run(smollm.complete(messages, response_format=fmt, max_tokens=32)).text)
    assert isinstance(data["score"], int)


def test_local_abandoned_stream_frees_the_context(smollm: RouterChatModel) -> None:
    """Leaving a stream after one delta stops generation, so the next call is not queued behind it."""

    async def run() -> float:
        stream = smollm.stream(QUESTION, max_tokens=400)
        async for event in stream:
            assert isinstance(event, TextDelta)
            break
        await stream.aclose()  # type: ignore[attr-defined]
        start = time.monotonic()
        await smollm.complete(QUESTION, max_tokens=4)
        return time.monotonic() - start

    assert asyncio.run(run()) < 5


def test_local_concurrent_requests_share_one_context(smollm: RouterChatModel) -> None:
    """Concurrent calls are serialised by the context lock and never block the event loop."""

    async def run() -> tuple[list[str], float]:
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        results = await asyncio.gather(*(smollm.complete(QUESTION, max_tokens=16) for _ in range(3)))
        tick.cancel()
        return [r.text for r in results], max(gaps)

    texts, worst_gap = asyncio.run(run())
    assert all(text.strip() for text in texts)
    assert worst_gap < 0.5
