"""Docent's faithfulness scorer: Ragas faithfulness, keeping the per-claim verdicts.

Same prompts and the same formula as ``ragas.metrics.collections.Faithfulness``
(break the answer into statements, judge each against the contexts, score = supported
/ all), but the statements and verdicts are returned so reports can show *which*
claim was unsupported. Citation support reuses the NLI step with only the cited
chunks as context.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from service.citations import split_sentences

if TYPE_CHECKING:  # Ragas takes seconds to import: only runs that judge pay for it (not --fast)
    from ragas.llms.base import InstructorBaseRagasLLM

_MARKERS = re.compile(r"\s?\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


@dataclass(slots=True)
class Claim:
    """One statement from the answer and the judge's verdict on it."""

    statement: str
    supported: bool
    reason: str = ""


@dataclass(slots=True)
class FaithfulnessResult:
    """Score in 0..1 (None: no statements to judge) and the claims behind it."""

    score: float | None
    claims: list[Claim] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "claims": [asdict(c) for c in self.claims]}


def strip_markers(text: str) -> str:
    """The answer without ``[n]`` markers (they are not claims)."""
    return _MARKERS.sub("", text).strip()


def cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, the marker numbers it carries) for each cited sentence."""
    out = []
    for sentence in split_sentences(text):
        numbers = [int(n) for group in _MARKERS.findall(sentence) for n in re.split(r"\s*,\s*", group)]
        if numbers:
            out.append((strip_markers(sentence), sorted(set(numbers))))
    return out


async def judge_statements(llm: InstructorBaseRagasLLM, statements: list[str], context: str) -> list[Claim]:
    """The Ragas NLI step: a verdict for each statement against ``context``."""
    from ragas.metrics.collections.faithfulness.util import NLIStatementInput, NLIStatementOutput, NLIStatementPrompt

    prompt = NLIStatementPrompt().to_string(NLIStatementInput(context=context, statements=statements))
    result: NLIStatementOutput = await llm.agenerate(prompt, NLIStatementOutput)
    return [Claim(s.statement, bool(s.verdict), s.reason) for s in result.statements]


async def score_faithfulness(
    llm: InstructorBaseRagasLLM, question: str, response: str, contexts: list[str]
) -> FaithfulnessResult:
    """Ragas faithfulness of ``response`` to ``contexts``, with per-claim detail."""
    from ragas.metrics.collections.faithfulness.util import (
        StatementGeneratorInput,
        StatementGeneratorOutput,
        StatementGeneratorPrompt,
    )

    answer = strip_markers(response)
    if not answer or not contexts:
        return FaithfulnessResult(None)
    prompt = StatementGeneratorPrompt().to_string(StatementGeneratorInput(question=question, answer=answer))
    generated: StatementGeneratorOutput = await llm.agenerate(prompt, StatementGeneratorOutput)
    statements = generated.statements
    if not statements:
        return FaithfulnessResult(None)
    claims = await judge_statements(llm, statements, "\n".join(contexts))
    if not claims:
        return FaithfulnessResult(None)
    return FaithfulnessResult(sum(c.supported for c in claims) / len(claims), claims)
