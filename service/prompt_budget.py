"""Shorter prompts: the parts of each source that bear on the question, within a token budget.

On two cores the local model reads the prompt at tens of tokens per second, so every
prompt token is time to first token. Each retrieved source is split into units (the
extractive mode's sentences, list items, steps, code blocks and tables), each unit is
scored against the query with signals that are already at hand or cheap (MiniLM, the
retriever's embedder, and BM25 over the units with the retriever's own analyser), and
the best units are taken, across all sources, until the budget is spent:

- a unit is never split: a code block or table is kept whole or not at all;
- a numbered procedure is offered whole when it fits (a kept step keeps its neighbours),
  and step by step in source order when it does not;
- what is kept is shown in source order under the source's title and section label;
- the budget is counted with the model's own tokenizer when it has one
  (:class:`CountsTokens`), else estimated at four characters a token; the final prompt is
  recounted and trimmed, so the estimate never breaks the budget.

The choice is deterministic: ties fall to the earlier source and position.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from docent.embedder import Embedder
from docent.sparse import Bm25Encoder
from service.extractive import Unit
from service.llm.chat_types import ChatMessage

TokenCounter = Callable[[str], int]

# BM25 (term overlap, IDF over the candidate units) next to the dense cosine: the cosine
# ranks paraphrases; the overlap keeps the unit that names the question's exact setting.
SPARSE_WEIGHT = 0.5
# The source's own dense similarity to the query (retrieval computed it), shared by its units:
# a section whose heading says what it is about ("Storing the password in a file") has
# sentences that never repeat it, and without this they lost to a table elsewhere.
SOURCE_WEIGHT = 1.0
EMBED_CHARS = 400  # MiniLM reads ~256 word pieces; a long code block's head says what it is
UNIT_TOKENS = 3  # a unit's line break and, in the extractive prompt, its "[id] "
SOURCE_TOKENS = 20  # the <source id= title= section=> tag around a source's units
MESSAGE_TOKENS = 5  # the chat template's role markers around each message
_K1, _B = 1.2, 0.75


@runtime_checkable
class CountsTokens(Protocol):
    """A chat model that can count its own tokens (``RouterChatModel``)."""

    def token_counter(self) -> TokenCounter:
        """Its counter, resolved once per prompt (blocking: may load the model)."""
        ...


def estimate_tokens(text: str) -> int:
    """About four characters a token: English prose with common BPE vocabularies."""
    return (len(text) + 3) // 4


def prompt_tokens(messages: Sequence[ChatMessage], count: TokenCounter) -> int:
    """The prompt's tokens: every message's content plus the chat template's markers."""
    return sum(count(m["content"]) + MESSAGE_TOKENS for m in messages) + MESSAGE_TOKENS


def _bm25(query: str, units: list[Unit], sparse: Bm25Encoder) -> list[float]:
    """BM25 of each unit for the query, IDF and length taken over the units themselves."""
    wanted = set(sparse.query(query)[0])
    docs = [dict(zip(*sparse.document(u.text), strict=True)) for u in units]
    n = len(docs)
    df = {t: sum(t in d for d in docs) for t in wanted}
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items() if f}
    lengths = [max(sum(d.values()), 1.0) for d in docs]
    avg = sum(lengths) / n if n else 1.0
    out = []
    for d, length in zip(docs, lengths, strict=True):
        # The encoder's values are term counts weighted by its own saturation; reweigh by unit length.
        norm = _K1 * (1 - _B + _B * length / avg)
        out.append(sum(idf[t] * d[t] * (_K1 + 1) / (d[t] + norm) for t in idf if t in d))
    return out


def relevance(query: str, units: list[Unit], *, embedder: Embedder | None, sparse: Bm25Encoder,
              sources: Sequence[float] = ()) -> list[float]:
    """Each unit's score for the query: its dense cosine, SPARSE_WEIGHT x BM25 scaled to [0, 1]
    (BM25 alone without an embedder), and SOURCE_WEIGHT x its source's similarity (``sources[n-1]``)."""
    if not units:
        return []
    bm25 = _bm25(query, units, sparse)
    top = max(bm25) or 1.0
    prior = [SOURCE_WEIGHT * sources[u.source - 1] if u.source <= len(sources) else 0.0 for u in units]
    if embedder is None:
        return [b / top + p for b, p in zip(bm25, prior, strict=True)]
    q = np.asarray(embedder.embed_query(query), dtype=np.float32)
    dense = embedder.embed_documents([u.text[:EMBED_CHARS] for u in units]) @ q
    return [float(c) + SPARSE_WEIGHT * b / top + p for c, b, p in zip(dense, bm25, prior, strict=True)]


def _groups(units: list[Unit]) -> list[list[int]]:
    """Indexes of ``units`` in offer groups: a run of consecutive steps together, all else alone."""
    groups: list[list[int]] = []
    for i, u in enumerate(units):
        prev = units[i - 1] if i else None
        if (u.kind == "step" and prev is not None and prev.kind == "step" and prev.source == u.source
                and prev.position + 1 == u.position):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def choose(units: list[Unit], scores: list[float], *, budget: int, count: TokenCounter) -> list[Unit]:
    """The best units whose estimated tokens fit ``budget``, in source order.

    First each source's best unit (or procedure), in retrieval order: retrieval chose these
    sources, and a paraphrased question often matches a section's heading better than any of
    its sentences. Then best first across sources; a procedure that does not fit whole
    competes step by step.
    """
    cost = [count(u.text) + UNIT_TOKENS for u in units]
    entries = [(-max(scores[i] for i in g), g[0], tuple(g)) for g in _groups(units)]
    best: dict[int, tuple[float, int, tuple[int, ...]]] = {}
    for entry in entries:
        source = units[entry[2][0]].source
        best[source] = min(entry, best.get(source, entry))
    leading = [best[s] for s in sorted(best)]  # taken first, in this order
    heap = [e for e in entries if e not in leading]
    heapq.heapify(heap)
    opened: set[int] = set()
    kept: list[int] = []
    used = 0
    while leading or heap:
        _, _, members = leading.pop(0) if leading else heapq.heappop(heap)
        source = units[members[0]].source
        need = sum(cost[i] for i in members) + (0 if source in opened else SOURCE_TOKENS)
        if used + need <= budget:
            kept.extend(members)
            opened.add(source)
            used += need
        elif len(members) > 1:
            for i in members:
                heapq.heappush(heap, (-scores[i], i, (i,)))
    return [units[i] for i in sorted(kept)]


def fit(units: list[Unit], scores: list[float], *, budget: int, count: TokenCounter,
        messages_for: Callable[[list[Unit]], list[ChatMessage]]) -> tuple[list[Unit], list[ChatMessage], int]:
    """The kept units, their prompt and its tokens: at most ``budget`` tokens, counted on the real prompt.

    The fixed part (instructions, question) is counted first; the units share the rest.
    Should the estimate still overshoot, the lowest-scoring units go until it fits.
    """
    fixed = prompt_tokens(messages_for([]), count)
    kept = choose(units, scores, budget=max(budget - fixed, 0), count=count)
    score = {id(u): s for u, s in zip(units, scores, strict=True)}
    while True:
        messages = messages_for(kept)
        tokens = prompt_tokens(messages, count)
        if tokens <= budget or not kept:
            return kept, messages, tokens
        worst = min(range(len(kept)), key=lambda i: (score[id(kept[i])], -i))
        kept = kept[:worst] + kept[worst + 1:]


def source_text(units: list[Unit], ordinals: dict[tuple[int, int], int]) -> str:
    """One source's kept units as text, in source order: adjacent sentences as one paragraph,
    items as a list, steps with their own numbers, code and tables verbatim."""
    lines: list[str] = []
    prev: Unit | None = None
    for u in sorted(units, key=lambda u: u.position):
        adjacent = prev is not None and prev.position + 1 == u.position
        if u.kind == "sentence" and adjacent and prev is not None and prev.kind == "sentence":
            lines[-1] += " " + u.text
        elif u.kind == "item":
            lines.append(f"- {u.text}")
        elif u.kind == "step":
            lines.append(f"{ordinals.get((u.source, u.position), 1)}. {u.text}")
        else:
            lines.append(u.text)
        prev = u
    return "\n".join(lines)


def step_numbers(units: list[Unit]) -> dict[tuple[int, int], int]:
    """Each step's number in its procedure, from the full list of a prompt's candidate units."""
    numbers: dict[tuple[int, int], int] = {}
    for group in _groups(units):
        for n, i in enumerate(group, start=1):
            if units[i].kind == "step":
                numbers[(units[i].source, units[i].position)] = n
    return numbers


def source_texts(kept: list[Unit], n_sources: int, ordinals: dict[tuple[int, int], int]) -> list[str]:
    """The text the model sees of each of ``n_sources`` sources ("" where nothing was kept)."""
    return [source_text([u for u in kept if u.source == n], ordinals) for n in range(1, n_sources + 1)]
