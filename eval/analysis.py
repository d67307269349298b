"""Comparisons and findings shared by the report, the gate and the API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from eval.records import RATE_KEYS, QuestionResult, RunRecord, aggregate


@dataclass(slots=True)
class Delta:
    metric: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(slots=True)
class Comparison:
    """Two runs compared on the questions both asked (different subsets stay comparable)."""

    current: RunRecord
    reference: RunRecord
    common: list[str]
    deltas: dict[str, Delta] = field(default_factory=dict)


def compare(current: RunRecord, reference: RunRecord) -> Comparison:
    before = reference.by_id()
    common = [q.id for q in current.questions if q.id in before]
    after_q = [q for q in current.questions if q.id in before]
    before_q = [before[i] for i in common]
    agg_after, agg_before = aggregate(after_q), aggregate(before_q)
    deltas = {m: Delta(m, agg_before.get(m), agg_after.get(m)) for m in RATE_KEYS}
    return Comparison(current, reference, common, deltas)


def docs_changed_between(history: list[RunRecord], reference: RunRecord, current: RunRecord) -> set[str]:
    """Docs changed by the runs after ``reference`` up to ``current`` (their ``docs_changed``)."""
    ids = [r.id for r in history]
    if reference.id in ids and current.id in ids:
        between = history[ids.index(reference.id) + 1 : ids.index(current.id) + 1]
    else:
        between = [current]
    return {p for run in between for paths in run.docs_changed.values() for p in paths}


def docs_of(question: QuestionResult) -> set[str]:
    """Docs a question depends on: its golden sources, what it cited and what it retrieved."""
    return (
        set(question.golden_docs) | set(question.cited_docs) | {c.doc_path for c in question.sample.contexts}
    )


def low_faithfulness_pages(record: RunRecord, threshold: float) -> list[tuple[str, int, list[str]]]:
    """(doc, times cited, question ids) over answers whose faithfulness is below ``threshold``."""
    counts: Counter[str] = Counter()
    where: dict[str, list[str]] = {}
    for q in record.questions:
        score = q.scores.get("faithfulness")
        if score is None or score >= threshold:
            continue
        for doc in q.cited_docs:
            counts[doc] += 1
            where.setdefault(doc, []).append(q.id)
    return [(doc, n, where[doc]) for doc, n in counts.most_common()]


def abstained(record: RunRecord) -> list[QuestionResult]:
    """Questions whose answer was an abstention (expected or not)."""
    return [q for q in record.questions if not q.sample.answered]
