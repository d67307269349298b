"""The Answerer, driven directly: every step of the one answer path, without HTTP.

Real index (docs-corpus), real embedder, scripted models through the production LiteLLM
Router. A counting wrapper around the model shows when generation is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from docent.schema import Access
from service import extractive, prompt_budget
from service.answer import Answer, fit_prompt
from service.answerer import Answerer, StreamItem
from service.citations import split_sentences
from service.extractive import resolve_mode
from service.llm.chat_types import ChatMessage, ChatModel, Completion, StreamEvent
from service.runtime import Runtime
from tests.service.conftest import scripted_reply

QUESTION = "How do I rotate the agent's API token?"


class Counting:
    """A ChatModel that passes calls through and counts them."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.calls: list[list[ChatMessage]] = []
        self.kwargs: list[dict[str, Any]] = []

    async def complete(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Completion:
        self.calls.append(list(messages))
        self.kwargs.append(kwargs)
        return await self.inner.complete(messages, **kwargs)

    def stream(self, messages: Sequence[ChatMessage], **kwargs: Any) -> AsyncIterator[StreamEvent]:
        self.calls.append(list(messages))
        return self.inner.stream(messages, **kwargs)


def _answerer(make_runtime: Callable[..., Runtime], model: str = "docent-fake/echo-cite",
              **chat: object) -> tuple[Answerer, Counting]:
    runtime = make_runtime(model=model, **chat)
    counting = Counting(runtime.model)
    return Answerer(runtime.retriever, counting, runtime.settings.chat, runtime.reranker), counting


def _prompt(answerer: Answerer, ans: Answer) -> list[ChatMessage]:
    """The generative prompt for QUESTION over the answer's hits (the wrapper counts no tokens: estimated)."""
    return fit_prompt(QUESTION, QUESTION, ans.retrieval.hits, mode="generative", chat=answerer.chat,
                      embedder=answerer.retriever.embedder, sparse=answerer.retriever.sparse,
                      count=prompt_budget.estimate_tokens).messages


def _stream(answerer: Answerer, question: str) -> tuple[list[str], Answer]:
    async def collect() -> list[StreamItem]:
        return [item async for item in answerer.stream(question, [], Access.public())]

    items = asyncio.run(collect())
    deltas = [payload for kind, payload in items[:-1] if kind == "delta" and isinstance(payload, str)]
    kind, final = items[-1]
    assert kind == "final" and isinstance(final, Answer)
    return deltas, final


def test_answer_cites_the_retrieved_source(make_runtime: Callable[..., Runtime]) -> None:
    answerer, model = _answerer(make_runtime)
    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    assert ans.answerable and ans.abstain_reason is None
    assert "[1]" in ans.text and ans.citations
    assert ans.citations[0].chunk_id == ans.retrieval.hits[0].chunk_id  # echo-cite quotes source 1
    assert len(model.calls) == 1
    # The model saw exactly the budgeted prompt fit_prompt makes from the retrieved hits.
    assert model.calls[0] == _prompt(answerer, ans)
    assert {"rewrite", "retrieve", "generate"} <= set(ans.timings_ms)


def test_stream_ends_with_the_same_answer_as_answer(make_runtime: Callable[..., Runtime]) -> None:
    answerer, _ = _answerer(make_runtime)
    whole = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    deltas, final = _stream(answerer, QUESTION)
    assert deltas, "the answer arrives as text deltas before the final event"
    assert "".join(deltas).strip() == final.text.strip()
    assert (final.text, final.answerable) == (whole.text, whole.answerable)
    assert [c.chunk_id for c in final.citations] == [c.chunk_id for c in whole.citations]


def test_abstains_before_generating_when_nothing_is_relevant(make_runtime: Callable[..., Runtime]) -> None:
    answerer, model = _answerer(make_runtime, min_similarity=1.01)  # no hit can reach it
    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    deltas, final = _stream(answerer, QUESTION)
    for out in (ans, final):
        assert not out.answerable and out.abstain_reason == "low_relevance" and not out.citations
    assert deltas == [] and model.calls == []


def test_declined_answer_never_streams_the_sentinel(make_runtime: Callable[..., Runtime]) -> None:
    answerer, _ = _answerer(make_runtime, model="docent-fake/abstain")
    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    deltas, final = _stream(answerer, QUESTION)
    assert ans.abstain_reason == final.abstain_reason == "model_declined"
    assert deltas == []


def test_model_down_degrades_to_the_retrieved_pages(make_runtime: Callable[..., Runtime]) -> None:
    answerer, _ = _answerer(make_runtime, model="docent-fake/fail")
    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    _, final = _stream(answerer, QUESTION)
    for out in (ans, final):
        assert out.degraded and not out.answerable and out.abstain_reason == "model_unavailable"
        assert [c.chunk_id for c in out.citations] == [h.chunk_id for h in out.retrieval.hits]


def test_request_deadline_bounds_generation(make_runtime: Callable[..., Runtime],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A model slower than ``chat.deadline_s`` gives a degraded answer, in both modes."""
    monkeypatch.setenv("DOCENT_FAKE_DELAY_S", "30")
    answerer, _ = _answerer(make_runtime, model="docent-fake/slow", timeout_s=60, deadline_s=1.0)
    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    _, final = _stream(answerer, QUESTION)
    assert ans.degraded and final.degraded


def test_reuse_hook_skips_generation(make_runtime: Callable[..., Runtime]) -> None:
    answerer, model = _answerer(make_runtime)
    seen: list[list[ChatMessage]] = []

    def reuse(prep: Any) -> bool:
        seen.append(list(prep.messages))
        return True

    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public(), reuse=reuse))
    assert ans.reused and ans.text == "" and model.calls == []
    assert seen == [_prompt(answerer, ans)]
    # A hook that declines leaves the answer to the model.
    again = asyncio.run(answerer.answer(QUESTION, [], Access.public(), reuse=lambda prep: False))
    assert not again.reused and again.answerable and len(model.calls) == 1


def test_public_access_never_cites_internal_pages(make_runtime: Callable[..., Runtime]) -> None:
    answerer, _ = _answerer(make_runtime, min_similarity=0.0, top_k=20)
    public = asyncio.run(answerer.answer("internal runbook escalation on-call", [], Access.public()))
    staff = asyncio.run(answerer.answer("internal runbook escalation on-call", [],
                                        Access.staff(all_groups=True)))
    assert all(h.payload.get("visibility") == "public" for h in public.retrieval.hits)
    assert any(h.payload.get("visibility") == "internal" for h in staff.retrieval.hits)


def _first_sentence_of_source_1(answerer: Answerer) -> str:
    prep = asyncio.run(answerer.prepare(QUESTION, [], Access.public()))
    return next(s for s in split_sentences(prep.retrieval.hits[0].text) if len(s.split()) > 5 and s[-1] == ".")


def test_an_unsupported_sentence_is_never_streamed_and_the_final_event_names_it(
        make_runtime: Callable[..., Runtime]) -> None:
    answerer, _ = _answerer(make_runtime, model="docent-fake/reply")
    supported = _first_sentence_of_source_1(answerer)
    planted = "The agent listens on port 7400 [1]."  # the old prompt example, as the 1.5B model copied it
    with scripted_reply(f"{planted} {supported[:-1]} [1]."):
        whole = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
        deltas, final = _stream(answerer, QUESTION)
    for out in (whole, final):
        assert out.answerable and "7400" not in out.text and supported[:-1] in out.text
        assert out.unsupported_sentences == ["The agent listens on port 7400."] and out.grounding == 0.5
    assert deltas and not any("7400" in d for d in deltas)
    assert "".join(deltas).strip() == final.text.strip()


def test_mostly_invented_answers_become_an_unsupported_abstention(make_runtime: Callable[..., Runtime]) -> None:
    answerer, _ = _answerer(make_runtime, model="docent-fake/reply")
    supported = _first_sentence_of_source_1(answerer)
    invented = "1. Navigate to the Settings section.\n2. Click Save.\n3. Restart your device if necessary."
    with scripted_reply(f"{supported[:-1]} [1].\n\n{invented}"):
        ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
        deltas, final = _stream(answerer, QUESTION)
    for out in (ans, final):
        assert not out.answerable and out.abstain_reason == "unsupported" and not out.citations
        assert len(out.unsupported_sentences) == 3
    assert not any("Navigate" in d or "Save" in d for d in deltas)


def test_extractive_mode_shows_the_chosen_source_sentence_verbatim(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(model="docent-fake/pick-first", answer_mode="extractive")
    counting = Counting(runtime.model)
    answerer = Answerer(runtime.retriever, counting, runtime.settings.chat, runtime.reranker, mode="extractive")
    ans = asyncio.run(answerer.answer(QUESTION, [], Access.public()))
    deltas, final = _stream(answerer, QUESTION)
    prep = asyncio.run(answerer.prepare(QUESTION, [], Access.public()))
    first = prep.units[0]
    assert ans.answerable and ans.answer_mode == "extractive" and ans.grounding == 1.0
    assert ans.text.startswith(first.text.rstrip(".")) and "[1]" in ans.text
    assert ans.citations[0].chunk_id == prep.retrieval.hits[first.source - 1].chunk_id
    assert (final.text, deltas) == (ans.text, [ans.text])  # one delta: the rendering, at once
    assert counting.calls[0] == prep.messages  # the extractive prompt, not the generative one
    assert counting.kwargs[0]["response_format"] == extractive.response_format(prep.units)  # held to the ids


def test_auto_mode_is_extractive_for_small_local_models_only(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    assert runtime.answerer.mode == "generative"  # docent-fake/echo-cite: no size, not local
    local = runtime.settings.model_copy(update={"model": "docent-local/qwen2.5-coder-1.5b"})
    assert resolve_mode(local.chat.answer_mode, local.resolved_llm().model) == "extractive"
