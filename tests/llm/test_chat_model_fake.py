"""RouterChatModel over the scripted docent-fake provider: the production Router path."""

from __future__ import annotations

from docent.offline import ensure_offline

ensure_offline()  # before litellm is imported

import asyncio  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import pytest  # noqa: E402

from docent.errors import ModelUnavailableError  # noqa: E402
from service.llm.chat_model import RouterChatModel  # noqa: E402
from service.llm.chat_types import ChatMessage, StreamEnd, StreamEvent, TextDelta  # noqa: E402
from tests.fakes.llm import NOT_IN_DOCS, FakeLLM, register_fake_provider, set_script_reply  # noqa: E402

MakeModel = Callable[..., RouterChatModel]


async def _collect(model: RouterChatModel, messages: list[ChatMessage]) -> list[StreamEvent]:
    return [event async for event in model.stream(messages)]


def test_complete_echo_cite_quotes_source_one(make_model: MakeModel, rag_messages: list[ChatMessage]) -> None:
    """A plain completion goes through the Router and reports model, usage and no fallback."""
    result = asyncio.run(make_model("docent-fake/echo-cite").complete(rag_messages))
    assert result.text == "Docent needs Python 3.11. [1]"
    assert result.model == "docent-fake/echo-cite"
    assert result.fallback_used is False
    assert result.prompt_tokens > 0 and result.completion_tokens == 5


def test_stream_yields_several_deltas_then_end(
    make_model: MakeModel, rag_messages: list[ChatMessage]
) -> None:
    """Streaming emits one delta per word and a final StreamEnd with usage."""
    events = asyncio.run(_collect(make_model("docent-fake/echo-cite"), rag_messages))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    end = events[-1]
    assert len(deltas) >= 3 and "".join(deltas) == "Docent needs Python 3.11. [1]"
    assert isinstance(end, StreamEnd) and end.model == "docent-fake/echo-cite"
    assert end.completion_tokens == 5 and end.fallback_used is False


def test_complete_failing_primary_answers_from_fallback(
    make_model: MakeModel, rag_messages: list[ChatMessage]
) -> None:
    """A 503 from the primary makes the Router answer from fallback-1, and that is reported."""
    result = asyncio.run(make_model("docent-fake/fail", ["docent-fake/abstain"]).complete(rag_messages))
    assert result.text == NOT_IN_DOCS
    assert result.model == "docent-fake/abstain" and result.fallback_used is True


def test_stream_failing_primary_answers_from_fallback(
    make_model: MakeModel, rag_messages: list[ChatMessage]
) -> None:
    """Streams fall back too, and StreamEnd names the fallback model."""
    events = asyncio.run(_collect(make_model("docent-fake/fail", ["docent-fake/echo-cite"]), rag_messages))
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.model == "docent-fake/echo-cite" and end.fallback_used is True
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).endswith("[1]")


def test_complete_all_failing_raises_model_unavailable(
    make_model: MakeModel, rag_messages: list[ChatMessage]
) -> None:
    """When every deployment fails the caller gets ModelUnavailableError without provider details."""
    model = make_model("docent-fake/fail", ["docent-fake/fail"], retries=1)
    with pytest.raises(ModelUnavailableError) as err:
        asyncio.run(model.complete(rag_messages))
    assert "docent-fake" not in str(err.value) and "scripted" not in str(err.value)


def test_stream_all_failing_raises_model_unavailable(
    make_model: MakeModel, rag_messages: list[ChatMessage]
) -> None:
    """A stream whose every deployment fails raises ModelUnavailableError."""
    with pytest.raises(ModelUnavailableError):
        asyncio.run(_collect(make_model("docent-fake/fail", ["docent-fake/fail"]), rag_messages))


@pytest.mark.parametrize("streaming", [False, True])
def test_slow_primary_is_cut_at_the_deadline(
    make_model: MakeModel, rag_messages: list[ChatMessage], streaming: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stuck primary with timeout_s=1 falls back or raises ModelUnavailableError within ~the deadline."""
    monkeypatch.setenv("DOCENT_FAKE_DELAY_S", "30")
    model = make_model("docent-fake/slow", ["docent-fake/echo-cite"], timeout_s=1)
    start = time.monotonic()
    try:
        if streaming:
            end = asyncio.run(_collect(model, rag_messages))[-1]
            assert isinstance(end, StreamEnd) and end.fallback_used
        else:
            assert asyncio.run(model.complete(rag_messages)).fallback_used
    except ModelUnavailableError as err:
        assert "1 seconds" in str(err)
    assert time.monotonic() - start < 2.5


def test_slow_within_deadline_answers(
    make_model: MakeModel, rag_messages: list[ChatMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow script answers after DOCENT_FAKE_DELAY_S when that fits in the timeout."""
    monkeypatch.setenv("DOCENT_FAKE_DELAY_S", "0.2")
    start = time.monotonic()
    result = asyncio.run(make_model("docent-fake/slow", timeout_s=5).complete(rag_messages))
    assert result.text.endswith("[1]") and time.monotonic() - start >= 0.2


def test_reply_script_returns_exact_text(make_model: MakeModel, rag_messages: list[ChatMessage]) -> None:
    """set_script_reply makes docent-fake/reply answer exactly the given string."""
    set_script_reply("Exactly this, see [2].")
    result = asyncio.run(make_model("docent-fake/reply").complete(rag_messages))
    assert result.text == "Exactly this, see [2]."


def test_json_script_honours_response_schema(make_model: MakeModel, rag_messages: list[ChatMessage]) -> None:
    """The json script returns parseable JSON satisfying a json_schema response_format."""
    schema = {"type": "object", "properties": {"verdict": {"type": "integer"}}, "required": ["verdict"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "Verdict", "schema": schema}}
    model = make_model("docent-fake/json")
    assert json.loads(asyncio.run(model.complete(rag_messages, response_format=fmt)).text) == {"verdict": 0}
    assert json.loads(asyncio.run(model.complete(rag_messages)).text) == {}


def test_complete_sync_works_outside_event_loop(
    make_model: MakeModel, rag_messages: list[ChatMessage]
) -> None:
    """complete_sync serves synchronous callers, repeatedly, with fresh event loops."""
    model = make_model("docent-fake/abstain")
    assert [model.complete_sync(rag_messages).text for _ in range(3)] == [NOT_IN_DOCS] * 3


def test_fake_records_requests_and_registers_once(
    make_model: MakeModel, fake_llm: FakeLLM, rag_messages: list[ChatMessage]
) -> None:
    """Registration is idempotent and the handler sees the exact messages sent."""
    assert register_fake_provider() is fake_llm
    make_model("docent-fake/abstain").complete_sync(rag_messages)
    script, messages = fake_llm.requests[-1]
    assert script == "abstain" and messages[-1]["content"] == rag_messages[-1]["content"]


def test_fake_call_overhead_is_small(make_model: MakeModel, rag_messages: list[ChatMessage]) -> None:
    """A fake completion through the Router costs milliseconds, not seconds."""
    model = make_model("docent-fake/echo-cite")

    async def run() -> float:
        await model.complete(rag_messages)  # warm-up: LiteLLM's first call imports lazily
        start = time.perf_counter()
        for _ in range(20):
            await model.complete(rag_messages)
        return (time.perf_counter() - start) / 20

    assert asyncio.run(run()) < 0.05
