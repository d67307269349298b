"""The steps of answering one question: rewrite -> retrieve -> (abstain | generate) -> check citations.

Plain functions over small interfaces (retriever, chat model, settings), so each step is
tested without HTTP. ``service/answerer.py`` runs them in order (and generates) for
every caller; the routes only validate input and map the result.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from dataclasses import dataclass, field
from typing import Any

from docent.embedder import Embedder
from docent.errors import ModelUnavailableError
from docent.schema import Access, Hit
from docent.settings import ChatSettings
from docent.sparse import Bm25Encoder
from service import extractive, guard, prompt_budget, prompts
from service.citations import attribute, check
from service.grounding import Grounding, Thresholds, Verifier
from service.llm.chat_types import ChatMessage, ChatModel, ResponseFormat
from service.prompts import NOT_IN_DOCS
from service.retrieval import Reranker, Retrieval, Retriever

ABSTAIN_TEXT = "I couldn't find this in the documentation, so I won't guess."
DEGRADED_TEXT = "I can't generate an answer right now; these documentation pages look relevant:"
DEFAULT_DEADLINE_S = 120.0
REWRITE_SHARE = 0.25


@dataclass(slots=True)
class Citation:
    """One cited source, in marker order: ``citations[0]`` is ``[1]`` in the answer."""

    marker: int
    chunk_id: str
    title: str
    heading_path: list[str]
    url: str
    snippet: str
    doc_path: str


@dataclass(slots=True)
class Answer:
    """Everything the API returns for one question (and the console shows)."""

    text: str
    answerable: bool
    citations: list[Citation]
    rewritten_query: str
    retrieval: Retrieval
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback_used: bool = False
    abstain_reason: str | None = None
    degraded: bool = False
    uncited_sentences: list[str] = field(default_factory=list)
    # Sentences the model wrote that the verifier withdrew (never shown), and the
    # supported share of the model's checked claims before withdrawal (None: nothing checked).
    unsupported_sentences: list[str] = field(default_factory=list)
    grounding: float | None = None
    answer_mode: str = "generative"
    removed_markers: list[int] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    reused: bool = False  # the caller's reuse hook already holds this answer (no text here)
    cached: bool = False  # served from the answer cache (service/answer_cache.py): no model call
    cache_id: str | None = None  # the cache entry this answer came from or created (feedback evicts it)


@dataclass(slots=True)
class Prepared:
    """The state between retrieval and generation."""

    question: str
    query: str
    retrieval: Retrieval
    messages: list[ChatMessage]
    timings_ms: dict[str, float]
    abstain_reason: str | None
    deadline: float = 0.0  # time.monotonic() by which the answer must be final
    verifier: Verifier | None = None  # over the prompt's sources; None when chat.verify is off
    mode: str = "generative"
    units: list[extractive.Unit] = field(default_factory=list)  # what the extractive prompt offers
    response_format: ResponseFormat | None = None
    # What the model sees of each source (the kept units; "" for a source left out): the
    # verifier and the citation attribution check against this, not the whole chunk.
    seen: list[str] = field(default_factory=list)

    def left_s(self) -> float:
        """Seconds of the model budget left (never negative)."""
        return max(self.deadline - time.monotonic(), 0.0)


def source_texts(hits: list[Hit], max_chars: int | None = None) -> list[str]:
    """Each source's text as the model sees it: at most ``max_chars`` characters."""
    return [h.text[:max_chars] for h in hits]


def build_messages(question: str, hits: list[Hit], max_source_chars: int | None = None, *,
                   texts: list[str] | None = None) -> list[ChatMessage]:
    """System prompt first and unchanging, so llama.cpp reuses its KV cache across requests.

    ``texts``: what to show of each source (the budgeted selection); a source whose text is
    empty is left out, and the others keep their numbers.
    """
    if texts is None:
        texts = source_texts(hits, max_source_chars)  # cut before fencing, so a cut-off tag is fenced too
    sources = "\n".join(
        prompts.render("source", n=str(i), title=guard.attr(str(h.payload.get("title", ""))),
                       section=guard.attr(h.section), text=guard.fence(text))
        for i, (h, text) in enumerate(zip(hits, texts, strict=True), start=1) if text
    )
    return [
        {"role": "system", "content": prompts.render("answer_system")},
        {"role": "user", "content": prompts.render("answer_user", sources=sources, question=question)},
    ]


@dataclass(slots=True)
class Fitted:
    """A prompt within the token budget: its messages, the units it offers, what it shows of each source."""

    messages: list[ChatMessage]
    units: list[extractive.Unit]  # the extractive prompt's numbered units ([] for a generative prompt)
    seen: list[str]
    tokens: int


def fit_prompt(question: str, query: str, hits: list[Hit], *, mode: str, chat: ChatSettings,
               embedder: Embedder | None, sparse: Bm25Encoder, count: prompt_budget.TokenCounter) -> Fitted:
    """The prompt for ``mode``, holding the units of each source that bear on ``query``
    within ``chat.prompt_token_budget`` tokens (0: whole sources, cut at max_source_chars).

    Blocking (embedding, regex and tokenizer work): run it in a thread.
    """
    texts = source_texts(hits, chat.max_source_chars)
    if not chat.prompt_token_budget:
        if mode == "extractive":
            units = extractive.units(texts)
            messages = extractive.build_messages(question, hits, units)
        else:
            units, messages = [], build_messages(question, hits, texts=texts)
        return Fitted(messages, units, texts, prompt_budget.prompt_tokens(messages, count))
    pool = extractive.candidates(texts)
    scores = prompt_budget.relevance(query, pool, embedder=embedder, sparse=sparse,
                                     sources=[h.similarity for h in hits])
    numbers = prompt_budget.step_numbers(pool)

    def messages_for(kept: list[extractive.Unit]) -> list[ChatMessage]:
        if mode == "extractive":
            return extractive.build_messages(question, hits, extractive.renumber(kept))
        return build_messages(question, hits, texts=prompt_budget.source_texts(kept, len(hits), numbers))

    kept, messages, tokens = prompt_budget.fit(pool, scores, budget=chat.prompt_token_budget, count=count,
                                               messages_for=messages_for)
    seen = prompt_budget.source_texts(kept, len(hits), numbers)
    return Fitted(messages, extractive.renumber(kept) if mode == "extractive" else [], seen, tokens)


async def rewrite_query(question: str, history: list[dict[str, str]], *, model: ChatModel, mode: str,
                        timeout_s: float | None = None) -> str:
    """A standalone query for retrieval; follow-ups lean on the conversation (plain
    concatenation when the model is down or slower than ``timeout_s``)."""
    if not history or mode == "off":
        return question
    last_user = next((m["content"] for m in reversed(history) if m["role"] == "user"), "")
    concat = f"{last_user} {question}".strip()
    if mode == "concat":
        return concat
    transcript = "\n".join(f"{m['role']}: {m['content'][:400]}" for m in history[-4:])
    try:
        done = await asyncio.wait_for(model.complete(
            [{"role": "user", "content": prompts.render("rewrite", history=transcript, question=question)}],
            max_tokens=48, temperature=0.0), timeout_s)
    except (ModelUnavailableError, TimeoutError):
        return concat
    line = (done.text or "").strip().splitlines()[0:1]
    rewritten = line[0].strip().strip('"') if line else ""
    # A rewrite that lost the question entirely is worse than plain concatenation.
    return rewritten if 3 <= len(rewritten) <= 400 else concat


async def prepare(question: str, history: list[dict[str, str]], *, access: Access, retriever: Retriever,
                  model: ChatModel, chat: ChatSettings, reranker: Reranker | None = None,
                  mode: str = "generative") -> Prepared:
    """Rewrite, retrieve, rerank, decide whether to abstain, and build the prompt before generating."""
    prep = await find_sources(question, history, access=access, retriever=retriever, model=model, chat=chat,
                              reranker=reranker, mode=mode)
    return await fit(prep, retriever=retriever, model=model, chat=chat)


async def find_sources(question: str, history: list[dict[str, str]], *, access: Access, retriever: Retriever,
                       model: ChatModel, chat: ChatSettings, reranker: Reranker | None = None,
                       mode: str = "generative") -> Prepared:
    """Rewrite, retrieve, rerank and decide whether to abstain: the sources, before any prompt work.

    Starts the request deadline. The prompt is empty until :func:`fit` builds it, so a
    stream can show the sources while the prompt is still being chosen.
    """
    timings: dict[str, float] = {}
    deadline = time.monotonic() + (chat.deadline_s or DEFAULT_DEADLINE_S)
    t0 = time.perf_counter()
    # The rewrite is an optimisation: it may spend only a share of the budget.
    query = await rewrite_query(question, history, model=model, mode=chat.rewrite,
                                timeout_s=(chat.deadline_s or DEFAULT_DEADLINE_S) * REWRITE_SHARE)
    timings["rewrite"] = (time.perf_counter() - t0) * 1000
    retrieval = await asyncio.to_thread(retriever.search, query, access, chat.top_k)
    timings["retrieve"] = retrieval.embed_ms + retrieval.search_ms
    if reranker is not None and retrieval.hits:
        t1 = time.perf_counter()
        retrieval.hits = await reranker.rerank(query, retrieval.hits)
        timings["rerank"] = (time.perf_counter() - t1) * 1000
    reason = None
    if not retrieval.hits:
        reason = "no_results"
    elif retrieval.top_similarity < chat.min_similarity:
        reason = "low_relevance"
    return Prepared(question, query, retrieval, [], timings, reason, deadline, mode=mode)


async def fit(prep: Prepared, *, retriever: Retriever, model: ChatModel, chat: ChatSettings) -> Prepared:
    """Fill in the prompt over ``prep``'s sources (within the token budget) and the verifier.

    An abstention without the model needs no prompt: ``prep`` comes back as it was.
    """
    if prep.abstain_reason:
        return prep
    # Choosing the units, fencing and counting are work over document text: off the event loop.
    t2 = time.perf_counter()
    count = (await asyncio.to_thread(model.token_counter) if isinstance(model, prompt_budget.CountsTokens)
             else prompt_budget.estimate_tokens)
    hits = prep.retrieval.hits
    fitted = await asyncio.to_thread(functools.partial(fit_prompt, prep.question, prep.query, hits, mode=prep.mode,
                                                       chat=chat, embedder=retriever.embedder,
                                                       sparse=retriever.sparse, count=count))
    prep.timings_ms["prompt"] = (time.perf_counter() - t2) * 1000
    prep.messages, prep.units, prep.seen = fitted.messages, fitted.units, fitted.seen
    prep.response_format = extractive.response_format(fitted.units) if prep.mode == "extractive" else None
    if chat.verify:
        # What the model saw of each source: its title and section too, not only the text.
        seen = [f"{h.payload.get('title', '')}\n{h.section}\n{text}" for h, text in zip(hits, fitted.seen, strict=True)]
        prep.verifier = Verifier(seen,
                                 embed=retriever.embedder.embed_documents if chat.verify_with_embeddings else None,
                                 thresholds=Thresholds(chat.min_support, chat.borderline_support,
                                                       chat.min_sentence_similarity))
    return prep


def _citations(hits: list[Hit], cited: list[int]) -> list[Citation]:
    out = []
    for marker, source in enumerate(cited, start=1):
        hit = hits[source - 1]
        p = hit.payload
        out.append(Citation(marker, hit.chunk_id, str(p.get("title", "")), list(p.get("heading_path") or []),
                            str(p.get("url", "")), hit.text[:600], hit.doc_path))
    return out


def abstention(prep: Prepared, reason: str, **extra: Any) -> Answer:
    extra.setdefault("answer_mode", prep.mode)
    return Answer(ABSTAIN_TEXT, False, [], prep.query, prep.retrieval, abstain_reason=reason,
                  timings_ms=prep.timings_ms, **extra)


def reused(prep: Prepared) -> Answer:
    """The caller's reuse hook holds the answer to this exact prompt: nothing was generated."""
    return Answer("", False, [], prep.query, prep.retrieval, reused=True, timings_ms=prep.timings_ms,
                  answer_mode=prep.mode)


def degraded(prep: Prepared) -> Answer:
    """The model is down: say so, and offer the retrieved pages instead of an answer."""
    hits = prep.retrieval.hits
    cites = _citations(hits, list(range(1, len(hits) + 1)))
    lines = [DEGRADED_TEXT] + [f"- {c.title} ({' > '.join(c.heading_path[1:]) or c.title}) [{c.marker}]"
                               for c in cites]
    return Answer("\n".join(lines), False, cites, prep.query, prep.retrieval, abstain_reason="model_unavailable",
                  degraded=True, timings_ms=prep.timings_ms, answer_mode=prep.mode)


def ground(prep: Prepared, raw: str, chat: ChatSettings) -> tuple[str, Grounding | None]:
    """Attribute unmarked sentences, then verify every sentence against its source.

    Returns the text to show (unsupported sentences withdrawn) and the verdicts; the
    stream runs this on each completed sentence, ``finish`` on the whole reply.
    """
    # Markers for unmarked sentences one source clearly supports (an extractive rendering has all its markers).
    if chat.attribute_citations and prep.mode != "extractive":
        raw = attribute(raw, prep.seen or source_texts(prep.retrieval.hits, chat.max_source_chars))
    if prep.verifier is None:
        return raw, None
    grounding = prep.verifier.verify(raw)
    return grounding.text, grounding


def finish(prep: Prepared, raw: str, *, chat: ChatSettings, model: str, prompt_tokens: int,
           completion_tokens: int, fallback_used: bool) -> Answer:
    """Turn the model's raw text into a checked answer (or an honest abstention).

    In extractive mode ``raw`` is the model's JSON choice of source sentences, rendered
    here verbatim; the verifier then checks the rendering like any answer.
    """
    usage: dict[str, Any] = {"model": model, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "fallback_used": fallback_used, "answer_mode": prep.mode}
    if prep.mode == "extractive":
        ids = extractive.parse(raw, prep.units)
        if ids is None:
            return abstention(prep, "empty", **usage)
        raw = extractive.render(prep.units, ids)
        if not raw:
            return abstention(prep, "model_declined", **usage)
    if guard.leaks_prompt(raw):  # recited its instructions (an injection, or a user asking)
        return abstention(prep, "prompt_leak", **usage)
    if NOT_IN_DOCS in raw:
        return abstention(prep, "model_declined", **usage)
    shown, grounding = ground(prep, raw, chat)
    if grounding is not None:
        usage.update(unsupported_sentences=grounding.unsupported, grounding=grounding.score)
        claims = [c for c in grounding.claims if c.checked]
        withdrawn = sum(not c.supported for c in claims)
        # Most of it invented: what is left was written by the same guesser, so hand off instead.
        if withdrawn and withdrawn > chat.max_unsupported_share * len(claims):
            return abstention(prep, "unsupported", **usage)
    checked = check(shown, len(prep.retrieval.hits))
    # A reply that is only markers ("[1]") says nothing: it is not an answer.
    bare = re.sub(r"\[\d+\]", "", checked.text).strip(" .,;:-\n")
    withdrew = bool(grounding and grounding.unsupported)
    if len(bare.split()) < 2:
        return abstention(prep, "unsupported" if withdrew else "empty", **usage)
    if chat.require_citation and not checked.cited:
        return abstention(prep, "unsupported" if withdrew else "uncited", **usage)
    return Answer(checked.text, True, _citations(prep.retrieval.hits, checked.cited), prep.query, prep.retrieval,
                  uncited_sentences=checked.uncited_sentences, removed_markers=checked.removed_markers,
                  timings_ms=prep.timings_ms, **usage)
