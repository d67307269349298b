"""The one answer path: ``Answerer.answer()`` and ``Answerer.stream()``.

The chat route (JSON and SSE), ``docent ask`` and the evaluation suite all call these
two methods on the runtime's ``Answerer``, so what the evaluation measures is what
customers get: the same rewrite, retrieval, rerank, request deadline, generation and
citation checks. The steps themselves live in ``service/answer.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

from docent.errors import ModelUnavailableError
from docent.schema import Access, Hit
from docent.settings import ChatSettings
from service import guard
from service.answer import Answer, Prepared, abstention, degraded, find_sources, finish, fit, ground, prepare, reused
from service.answer_cache import AnswerCache, Probe
from service.citations import split_sentences
from service.llm.chat_types import ChatModel, StreamEnd, TextDelta
from service.prompts import NOT_IN_DOCS
from service.retrieval import Reranker, Retriever

EXTRACT_MAX_TOKENS = 160  # {"ids": [eight ids]} is a few dozen tokens; the rest is slack for odd spacing
# "sources" comes first, right after retrieval and before any model work: the candidate
# sources in the order the prompt numbers them (the access-filtered retrieval hits).
StreamItem = (tuple[Literal["sources"], list[Hit]] | tuple[Literal["delta"], str]
              | tuple[Literal["final"], Answer])

# Asked once the exact prompt is known, before generating: True means the caller already
# holds the answer to this prompt (the evaluation's reuse across runs), so the model is
# not called and the answer comes back with ``reused`` set and no text.
ReuseHook = Callable[[Prepared], bool]


def _held_back(raw: str) -> bool:
    """Whether streamed text could still turn into the abstention sentinel."""
    stripped = raw.lstrip()
    return NOT_IN_DOCS in raw or (len(stripped) < len(NOT_IN_DOCS) and NOT_IN_DOCS.startswith(stripped))


def _sentences_end(raw: str) -> int:
    """Where the last complete sentence of streamed ``raw`` ends (0: none complete yet).

    A sentence is complete once the next one has begun or its line has ended; only
    complete sentences can be verified, so only they are streamed.
    """
    cut = raw.rfind("\n") + 1
    tail = raw[cut:]
    parts = split_sentences(tail)
    if len(parts) >= 2 and not tail.lstrip().startswith("```"):
        last = tail.rfind(parts[-1])
        if last > 0:
            cut += last
    if "```" in raw[:cut] and raw[:cut].count("```") % 2:  # inside an open code block: wait for its end
        cut = raw.rfind("```", 0, cut)
    return cut


@dataclass(slots=True, frozen=True)
class Answerer:
    """Retriever, model, chat settings and reranker: everything one answer needs."""

    retriever: Retriever
    model: ChatModel
    chat: ChatSettings
    reranker: Reranker | None = None
    mode: Literal["extractive", "generative"] = "generative"  # see service/extractive.resolve_mode
    # Repeats and close paraphrases of single-turn questions (service/answer_cache.py); None: off.
    cache: AnswerCache | None = None

    async def prepare(self, question: str, history: list[dict[str, str]], access: Access) -> Prepared:
        """Rewrite, retrieve, rerank and decide whether to abstain; starts the request deadline."""
        return await prepare(question, history, access=access, retriever=self.retriever, model=self.model,
                             chat=self.chat, reranker=self.reranker, mode=self.mode)

    def _finish(self, prep: Prepared, raw: str, end: StreamEnd) -> Answer:
        return finish(prep, raw, chat=self.chat, model=end.model, prompt_tokens=end.prompt_tokens,
                      completion_tokens=end.completion_tokens, fallback_used=end.fallback_used)

    async def answer(self, question: str, history: list[dict[str, str]], access: Access, *,
                     reuse: ReuseHook | None = None) -> Answer:
        """Answer one question, with citations, or abstain honestly."""
        probe = None
        if self.cache is not None and reuse is None:  # a reuse hook (the evaluation) wants fresh answers
            hit, probe = await asyncio.to_thread(self.cache.lookup, question, history, access)
            if hit is not None:
                return hit
        prep = await self.prepare(question, history, access)
        if prep.abstain_reason:
            return abstention(prep, prep.abstain_reason)
        if reuse is not None and reuse(prep):
            return reused(prep)
        return await self._keep(probe, await self._complete(prep))

    async def _keep(self, probe: Probe | None, ans: Answer) -> Answer:
        """File a fresh final answer in the cache (it keeps only answerable, non-degraded ones)."""
        if self.cache is not None and probe is not None:
            ans.cache_id = await asyncio.to_thread(self.cache.store, probe, ans)
        return ans

    async def _complete(self, prep: Prepared) -> Answer:
        t0 = time.perf_counter()
        # Extractive replies are a few ids: a small token cap keeps a confused model short.
        max_tokens = EXTRACT_MAX_TOKENS if prep.mode == "extractive" else None
        try:
            done = await asyncio.wait_for(self.model.complete(
                prep.messages, response_format=prep.response_format, max_tokens=max_tokens), prep.left_s())
        except (ModelUnavailableError, TimeoutError):
            return degraded(prep)
        prep.timings_ms["generate"] = (time.perf_counter() - t0) * 1000
        end = StreamEnd(model=done.model, prompt_tokens=done.prompt_tokens,
                        completion_tokens=done.completion_tokens, fallback_used=done.fallback_used)
        # Checking citations is text work over the reply and the sources: a thread, not the event loop.
        return await asyncio.to_thread(functools.partial(self._finish, prep, done.text, end))

    async def stream(self, question: str, history: list[dict[str, str]],
                     access: Access) -> AsyncIterator[StreamItem]:
        """Like :meth:`answer`, yielding the sources first, text deltas as they come and the checked answer last.

        Deltas are held back while they could still be the start of the abstention
        sentinel, so a declined answer never flashes on screen. With the verifier on, text
        is streamed one completed, verified sentence at a time, so a withdrawn sentence is
        never shown; an extractive answer arrives as one delta. The final answer (invalid
        markers removed, withdrawn sentences listed) replaces the streamed text in the client.
        """
        probe = None
        if self.cache is not None:
            hit, probe = await asyncio.to_thread(self.cache.lookup, question, history, access)
            if hit is not None:  # no retrieval, no model: the stored sources, text and answer at once
                yield ("sources", hit.retrieval.hits)
                yield ("delta", hit.text)
                yield ("final", hit)
                return
        prep = await find_sources(question, history, access=access, retriever=self.retriever, model=self.model,
                                  chat=self.chat, reranker=self.reranker, mode=self.mode)
        # Before any prompt or model work, so the client can show where it is looking at once; an
        # abstention before the model sends them too (what was searched), then its final.
        yield ("sources", prep.retrieval.hits)
        if prep.abstain_reason:
            yield ("final", abstention(prep, prep.abstain_reason))
            return
        prep = await fit(prep, retriever=self.retriever, model=self.model, chat=self.chat)
        if prep.mode == "extractive":  # a JSON choice is nothing to stream: show its rendering at once
            ans = await self._keep(probe, await self._complete(prep))
            if ans.answerable:
                yield ("delta", ans.text)
            yield ("final", ans)
            return
        t0 = time.perf_counter()
        raw = ""
        sent = 0  # characters of raw already streamed (verifier off)
        emitted = ""  # verified text already streamed (verifier on)
        verified_upto = 0  # raw[:verified_upto] has been verified
        end: StreamEnd | None = None
        events = self.model.stream(prep.messages).__aiter__()
        try:
            while True:
                # The budget bounds every wait for the next chunk: a stalled model cannot hold the stream.
                try:
                    event = await asyncio.wait_for(events.__anext__(), prep.left_s())
                except StopAsyncIteration:
                    break
                if isinstance(event, TextDelta):
                    raw += event.text
                    if _held_back(raw):
                        continue
                    # Words that could begin a recitation of the prompt wait (service/guard.py).
                    ready = 0 if guard.leaks_prompt(raw) else guard.safe_end(raw)
                    if prep.verifier is None:
                        if ready > sent:
                            yield ("delta", raw[sent:ready])
                            sent = ready
                        continue
                    # Verified sentence by sentence: a withdrawn sentence is never shown at all.
                    ready = min(ready, _sentences_end(raw))
                    if ready > verified_upto:
                        verified_upto = ready
                        shown, _ = await asyncio.to_thread(ground, prep, raw[:ready], self.chat)
                        if len(shown) > len(emitted) and shown.startswith(emitted):
                            yield ("delta", shown[len(emitted):])
                            emitted = shown
                elif isinstance(event, StreamEnd):
                    end = event
        except (ModelUnavailableError, TimeoutError):
            # Also mid-answer: the final event replaces whatever text the client has shown.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(events.aclose(), 1.0)  # type: ignore[attr-defined]
            yield ("final", degraded(prep))
            return
        stripped = raw.strip()
        harmless = NOT_IN_DOCS not in raw and not NOT_IN_DOCS.startswith(stripped) and not guard.leaks_prompt(raw)
        if prep.verifier is None:
            if sent < len(raw) and harmless:
                yield ("delta", raw[sent:])  # what was held back turned out harmless
        elif harmless:
            shown, _ = await asyncio.to_thread(ground, prep, raw, self.chat)
            if len(shown) > len(emitted) and shown.startswith(emitted):
                yield ("delta", shown[len(emitted):])  # the last sentence, verified now the reply is complete
        prep.timings_ms["generate"] = (time.perf_counter() - t0) * 1000
        end = end or StreamEnd(model="", prompt_tokens=0, completion_tokens=0, fallback_used=False)
        final = await asyncio.to_thread(functools.partial(self._finish, prep, raw, end))
        yield ("final", await self._keep(probe, final))
