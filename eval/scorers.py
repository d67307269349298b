"""The judged metrics of one answer: Ragas 0.4.3 metrics and Docent's citation support.

Each metric is ``applies(inp)`` (is it meaningful for this question and answer?) plus
``score(inp)`` returning a value in 0..1 (None when the judge produced nothing to
score) and JSON detail for the report. Ragas metrics always receive the judge's LLM
and embeddings explicitly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eval.faithfulness import cited_sentences, judge_statements, score_faithfulness, strip_markers
from eval.golden import GoldenItem
from eval.records import Sample

if TYPE_CHECKING:  # eval.judge imports Ragas (seconds): a run without judged metrics never does
    from eval.judge import Judge


@dataclass(slots=True)
class ScoreInput:
    """What a metric sees: the golden item, the answer, and the golden section texts."""

    item: GoldenItem
    sample: Sample
    references: list[str]

    @property
    def user_input(self) -> str:
        """The question as the judge should read it (follow-ups carry their earlier turn)."""
        last = next((m["content"] for m in reversed(self.sample.history) if m.get("role") == "user"), "")
        return f"{last}\n{self.sample.question}".strip() if last else self.sample.question

    @property
    def contexts(self) -> list[str]:
        return [c.text for c in self.sample.contexts]


@dataclass(slots=True)
class Outcome:
    value: float | None
    detail: Any = None


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def answered(inp: ScoreInput) -> bool:
    s = inp.sample
    return s.answered and not s.error and bool(strip_markers(s.answer)) and bool(s.contexts)


def has_reference(inp: ScoreInput) -> bool:
    i = inp.item
    return not inp.sample.error and i.answerable_publicly and bool(i.reference) and bool(inp.sample.contexts)


def has_reference_contexts(inp: ScoreInput) -> bool:
    return has_reference(inp) and bool(inp.references)


class Scorers:
    """Binds the metrics to one judge (the non-LLM metrics need none)."""

    def __init__(self, judge: Judge | None, *, relevancy_strictness: int = 1) -> None:
        self.judge = judge
        self.relevancy_strictness = relevancy_strictness
        self.table: dict[
            str, tuple[Callable[[ScoreInput], bool], Callable[[ScoreInput], Awaitable[Outcome]]]
        ] = {
            "faithfulness": (answered, self.faithfulness),
            "answer_relevancy": (answered, self.answer_relevancy),
            "context_precision": (has_reference, self.context_precision),
            "context_recall": (has_reference, self.context_recall),
            "citation_support": (lambda i: answered(i) and bool(i.sample.citations), self.citation_support),
            "nonllm_context_precision": (has_reference_contexts, self.nonllm_context_precision),
            "nonllm_context_recall": (has_reference_contexts, self.nonllm_context_recall),
        }

    def applies(self, metric: str, inp: ScoreInput) -> bool:
        return self.table[metric][0](inp)

    async def score(self, metric: str, inp: ScoreInput) -> Outcome:
        return await self.table[metric][1](inp)

    def _judge(self) -> Judge:
        if self.judge is None:
            raise RuntimeError("this metric needs a judge model")
        return self.judge

    async def faithfulness(self, inp: ScoreInput) -> Outcome:
        result = await score_faithfulness(self._judge().llm, inp.user_input, inp.sample.answer, inp.contexts)
        return Outcome(result.score, {"claims": result.to_json()["claims"]})

    async def answer_relevancy(self, inp: ScoreInput) -> Outcome:
        from ragas.metrics.collections import AnswerRelevancy

        judge = self._judge()
        if judge.embeddings is None:
            raise RuntimeError("answer relevancy needs embeddings")
        metric = AnswerRelevancy(
            llm=judge.llm, embeddings=judge.embeddings, strictness=self.relevancy_strictness
        )
        result = await metric.ascore(user_input=inp.user_input, response=strip_markers(inp.sample.answer))
        return Outcome(_finite(result.value))

    async def context_precision(self, inp: ScoreInput) -> Outcome:
        from ragas.metrics.collections import ContextPrecisionWithReference

        metric = ContextPrecisionWithReference(llm=self._judge().llm)
        result = await metric.ascore(
            user_input=inp.user_input, reference=inp.item.reference, retrieved_contexts=inp.contexts
        )
        return Outcome(_finite(result.value))

    async def context_recall(self, inp: ScoreInput) -> Outcome:
        from ragas.metrics.collections import ContextRecall

        metric = ContextRecall(llm=self._judge().llm)
        result = await metric.ascore(
            user_input=inp.user_input, retrieved_contexts=inp.contexts, reference=inp.item.reference
        )
        return Outcome(_finite(result.value))

    async def citation_support(self, inp: ScoreInput) -> Outcome:
        """Cited sentences whose own cited chunks support them / all cited sentences."""
        sample = inp.sample
        by_id = {c.chunk_id: c.text for c in sample.contexts}
        groups: dict[tuple[int, ...], list[str]] = {}
        for sentence, markers in cited_sentences(sample.answer):
            valid = tuple(n for n in markers if 1 <= n <= len(sample.citations))
            groups.setdefault(valid, []).append(sentence)
        sentences: list[dict[str, Any]] = []
        for numbers, group in groups.items():
            texts = [by_id.get(sample.citations[n - 1].chunk_id, "") for n in numbers]
            if not any(texts):
                sentences.extend(
                    {
                        "sentence": s,
                        "markers": list(numbers),
                        "supported": False,
                        "reason": "cites no retrieved source",
                    }
                    for s in group
                )
                continue
            # One judge call per distinct set of cited chunks (usually one per answer).
            claims = await judge_statements(self._judge().llm, group, "\n".join(t for t in texts if t))
            verdicts = {c.statement: c for c in claims}
            for position, s in enumerate(group):
                claim = verdicts.get(s) or (claims[position] if position < len(claims) else None)
                sentences.append(
                    {
                        "sentence": s,
                        "markers": list(numbers),
                        "supported": None if claim is None else claim.supported,
                        "reason": claim.reason if claim else "no verdict from the judge",
                    }
                )
        judged = [s["supported"] for s in sentences if s["supported"] is not None]
        if not judged:
            return Outcome(None, {"sentences": sentences} if sentences else None)
        return Outcome(sum(judged) / len(judged), {"sentences": sentences})

    async def nonllm_context_precision(self, inp: ScoreInput) -> Outcome:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from ragas.dataset_schema import SingleTurnSample
            from ragas.metrics import NonLLMContextPrecisionWithReference

        sample = SingleTurnSample(retrieved_contexts=inp.contexts, reference_contexts=inp.references)
        return Outcome(_finite(await NonLLMContextPrecisionWithReference().single_turn_ascore(sample)))

    async def nonllm_context_recall(self, inp: ScoreInput) -> Outcome:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from ragas.dataset_schema import SingleTurnSample
            from ragas.metrics import NonLLMContextRecall

        sample = SingleTurnSample(retrieved_contexts=inp.contexts, reference_contexts=inp.references)
        return Outcome(_finite(await NonLLMContextRecall().single_turn_ascore(sample)))
