"""Docent's faithfulness scorer equals Ragas faithfulness and keeps the per-claim verdicts."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from ragas.llms.base import InstructorBaseRagasLLM
from ragas.metrics.collections import Faithfulness

from eval.faithfulness import cited_sentences, score_faithfulness, strip_markers

CONTEXT = "The status server listens on port 7421. It binds to 127.0.0.1 by default."


class ScriptedJudge(InstructorBaseRagasLLM):
    """A Ragas LLM (its real extension point) answering each response model from a script."""

    def __init__(self, script: dict[str, dict[str, Any]]) -> None:
        self.script = script
        self.prompts: list[str] = []

    def generate(self, prompt: str, response_model: type[BaseModel]) -> Any:
        return asyncio.run(self.agenerate(prompt, response_model))

    async def agenerate(self, prompt: str, response_model: type[BaseModel]) -> Any:
        self.prompts.append(prompt)
        return response_model.model_validate(self.script[response_model.__name__])


SCRIPT = {
    "StatementGeneratorOutput": {
        "statements": ["The status server listens on port 7421.", "The status server binds to 0.0.0.0."]
    },
    "NLIStatementOutput": {
        "statements": [
            {"statement": "The status server listens on port 7421.", "reason": "stated", "verdict": 1},
            {
                "statement": "The status server binds to 0.0.0.0.",
                "reason": "context says 127.0.0.1",
                "verdict": 0,
            },
        ]
    },
}


def test_faithfulness_scorer_matches_ragas_with_claims() -> None:
    """Same judge, same answer: the same score as ragas' Faithfulness, plus which claim failed."""
    answer = "The status server listens on port 7421 [1]. It binds to 0.0.0.0 [1]."
    ours = asyncio.run(score_faithfulness(ScriptedJudge(SCRIPT), "Which port?", answer, [CONTEXT]))
    theirs = asyncio.run(
        Faithfulness(llm=ScriptedJudge(SCRIPT)).ascore(
            user_input="Which port?", response=strip_markers(answer), retrieved_contexts=[CONTEXT]
        )
    )
    assert ours.score == theirs.value == 0.5
    assert [(c.statement, c.supported) for c in ours.claims] == [
        ("The status server listens on port 7421.", True),
        ("The status server binds to 0.0.0.0.", False),
    ]
    assert ours.claims[1].reason == "context says 127.0.0.1"


def test_faithfulness_scorer_strips_markers_before_judging() -> None:
    """Markers are not claims: the judge never sees them, and an empty answer scores None."""
    judge = ScriptedJudge(SCRIPT)
    asyncio.run(score_faithfulness(judge, "Which port?", "Port 7421 [1][2].", [CONTEXT]))
    assert "[1]" not in judge.prompts[0].split("Now perform the same")[1]
    assert asyncio.run(score_faithfulness(judge, "q", " [1] ", [CONTEXT])).score is None
    assert cited_sentences("Port 7421 [1]. Bound locally [1, 2]. No marker here at all.") == [
        ("Port 7421.", [1]),
        ("Bound locally.", [1, 2]),
    ]
