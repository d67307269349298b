"""Reusing answers and scores from earlier runs when their inputs are byte-identical.

After a doc edit most questions retrieve exactly the chunks they retrieved before, so
their prompts, answers and judge inputs are unchanged. An answer is keyed by the
answering model's settings and its exact prompt; a score by the metric, the judge's
settings and everything the metric reads. Equal keys mean the step would be asked the
same thing again, so the earlier result is taken, marked as reused, and only what a
change touched costs model time. ``--fresh`` turns this off.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from eval.records import RunRecord, Sample
from eval.scorers import ScoreInput


def score_key(metric: str, judge_identity: str, inp: ScoreInput) -> str:
    """Everything a metric's result depends on."""
    blob = json.dumps(
        {
            "metric": metric,
            "judge": judge_identity,
            "question": inp.user_input,
            "answer": inp.sample.answer,
            "contexts": inp.contexts,
            "citations": [c.chunk_id for c in inp.sample.citations],
            "reference": inp.item.reference,
            "references": inp.references,
            "answerable": inp.sample.answered,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


@dataclass
class ReuseCache:
    """Answers by answer key and metric results by score key, newest run winning."""

    answers: dict[str, Sample] = field(default_factory=dict)
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_runs(cls, runs: list[RunRecord]) -> ReuseCache:
        """Index ``runs`` (oldest first); failed answers and failed scores are never reused."""
        cache = cls()
        for run in runs:
            for q in run.questions:
                if q.sample.key and not q.sample.error:
                    cache.answers[q.sample.key] = replace(q.sample, reused=False)
                for metric, key in q.keys.items():
                    if metric in q.scores and metric not in q.errors:
                        cache.scores[key] = {
                            "value": q.scores[metric],
                            "detail": q.details.get(metric),
                            "seconds": q.seconds.get(metric, 0.0),
                        }
        return cache
