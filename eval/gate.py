"""The gate: fail when a metric dropped more than its threshold since the reference run.

The reference is a committed baseline (a run JSON) when configured, else the previous
run. Runs are compared on the questions both asked, so a smoke run can be gated
against a full baseline. The verdict lists the regressed questions and the doc
changes that touched them, so a doc writer sees which page to look at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.analysis import compare, docs_changed_between, docs_of
from eval.records import RunRecord
from eval.run_store import RunStore

PASS, REGRESSED = 0, 1


@dataclass(slots=True)
class MetricDrop:
    metric: str
    before: float
    after: float
    threshold: float


@dataclass(slots=True)
class QuestionDrop:
    id: str
    question: str
    metric: str
    before: float
    after: float
    touched_by: list[str]


@dataclass(slots=True)
class GateResult:
    """What the gate decided, against which run, and why."""

    reference: str | None
    common: int = 0
    drops: list[MetricDrop] = field(default_factory=list)
    questions: list[QuestionDrop] = field(default_factory=list)
    docs_changed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return REGRESSED if self.drops else PASS

    def lines(self) -> list[str]:
        """The verdict for a terminal."""
        if self.reference is None:
            return ["gate: nothing to compare with (no previous run or baseline): pass"]
        head = f"gate: vs {self.reference} on {self.common} common questions: "
        if not self.drops:
            return [head + "pass"]
        out = [head + "REGRESSED"]
        out += [
            f"  {d.metric}: {d.before:.3f} -> {d.after:.3f} (drop {d.before - d.after:.3f} > {d.threshold:g})"
            for d in self.drops
        ]
        if self.questions:
            out.append("  regressed questions:")
        for q in self.questions:
            touched = ", ".join(q.touched_by) or "no doc change touched it"
            out.append(
                f"    {q.id} {q.metric} {q.before:.2f} -> {q.after:.2f}  {q.question[:70]!r}  [{touched}]"
            )
        if self.docs_changed:
            out.append("  docs changed since the reference: " + ", ".join(self.docs_changed))
        return out


def load_baseline(path: Path) -> RunRecord:
    return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))


def reference_for(store: RunStore, current: RunRecord, baseline: Path | None) -> RunRecord | None:
    """The committed baseline if given, else the run stored just before ``current``."""
    if baseline is not None:
        return load_baseline(baseline)
    ids = store.ids()
    earlier = [i for i in ids if i < current.id]
    return store.load(earlier[-1]) if earlier else None


def gate(
    current: RunRecord,
    reference: RunRecord | None,
    thresholds: dict[str, float],
    history: list[RunRecord] | None = None,
) -> GateResult:
    """Compare ``current`` with ``reference`` on each thresholded metric."""
    if reference is None:
        return GateResult(None)
    comparison = compare(current, reference)
    changed = docs_changed_between(history or [], reference, current)
    result = GateResult(reference.id, len(comparison.common), docs_changed=sorted(changed))
    for metric, threshold in thresholds.items():
        delta = comparison.deltas.get(metric)
        if delta is None or delta.before is None or delta.after is None:
            continue
        if delta.before - delta.after > threshold:
            result.drops.append(MetricDrop(metric, delta.before, delta.after, threshold))
    before = reference.by_id()
    key_of = {"abstention_accuracy": "abstention_correct"}
    for q in current.questions:
        old = before.get(q.id)
        if old is None:
            continue
        for drop in result.drops:
            key = key_of.get(drop.metric, drop.metric)
            a, b = old.scores.get(key), q.scores.get(key)
            if a is not None and b is not None and a - b > drop.threshold:
                touched = sorted((docs_of(q) | docs_of(old)) & changed)
                result.questions.append(QuestionDrop(q.id, q.sample.question, drop.metric, a, b, touched))
    return result
