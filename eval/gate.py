"""The gate: fail when a metric regressed since the reference run, and say why, question by question.

The reference is a committed baseline (a run JSON) when configured, else the previous
run. Runs are compared on the questions both asked, and on the gated metrics both runs
have (a ``--fast`` run has no judge metrics; a smoke run can be gated against a full
baseline). For every gated metric each common question's drop gets a cause
(``eval/noise.py``):

- **noise**: nothing the score depends on changed (the same answer key, or the same
  score key) and a model was merely asked again. Never a regression; listed as noise.
  Likewise an answer that failed in one run (a model timeout) is listed, not counted.
- **a changed input**: a doc it depends on changed, its retrieved chunks, its prompt or
  the answering settings. The question regressed when its drop is larger than the
  metric's tolerance: the threshold, or the noise measured for that metric on repeats
  with identical inputs (the 90th percentile of their changes), whichever is larger.

A metric fails when a regressed question is explained by changed docs, or when the
questions whose inputs changed lowered the metric's mean by more than its threshold.
The verdict names the questions and the docs either way.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval.analysis import docs_changed_between
from eval.noise import DOCS, Cause, cause_of, measure, not_counted_label, pairs_of, score_of
from eval.records import RunRecord, mean
from eval.run_store import RunStore

PASS, REGRESSED = 0, 1
EPSILON = 1e-9


@dataclass(slots=True)
class QuestionChange:
    """One question whose gated score dropped, and why."""

    id: str
    question: str
    before: float
    after: float
    cause: str
    why: str
    docs: list[str]
    regressed: bool

    @property
    def drop(self) -> float:
        return self.before - self.after


@dataclass(slots=True)
class MetricVerdict:
    """One gated metric: both runs' means on the questions scored in both, and the drops."""

    metric: str
    threshold: float
    before: float
    after: float
    scored: int  # common questions with a value in both runs
    noise: float | None  # per-question noise measured on identical-input repeats
    repeats: int  # how many repeats measured it
    changed_drop: float  # mean drop contributed by questions whose inputs changed
    drops: list[QuestionChange] = field(default_factory=list)
    failed: bool = False
    reason: str = ""

    @property
    def tolerance(self) -> float:
        return max(self.threshold, self.noise or 0.0)

    @property
    def regressed(self) -> list[QuestionChange]:
        return [d for d in self.drops if d.regressed]


@dataclass(slots=True)
class GateResult:
    """What the gate decided, against which run, and why."""

    reference: str | None
    common: int = 0
    metrics: list[MetricVerdict] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)  # gated, but not in both runs
    docs_changed: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return REGRESSED if any(m.failed for m in self.metrics) else PASS

    @property
    def verdict(self) -> str:
        if self.reference is None:
            return "no reference"
        return "REGRESSED" if self.exit_code else "pass"

    def lines(self) -> list[str]:
        """The verdict for a terminal: per metric, the regressed questions and the noise."""
        if self.reference is None:
            return ["gate: nothing to compare with (no previous run or baseline): pass"]
        out = [f"gate: vs {self.reference} on {self.common} common questions: {self.verdict}"]
        for m in self.metrics:
            noise = (f"noise ±{m.noise:.2f} from {m.repeats} repeats" if m.noise is not None
                     else "noise not measured yet")
            out.append(
                f"  {m.metric}: {m.before:.3f} -> {m.after:.3f} on {m.scored} questions "
                f"(tolerance {m.tolerance:g}: threshold {m.threshold:g}, {noise}): "
                + (f"REGRESSED, {m.reason}" if m.failed else "pass")
            )
            for d in m.drops:
                label = "regressed" if d.regressed else not_counted_label(d.cause)
                out.append(f"    {label:16} {d.id} {d.before:.2f} -> {d.after:.2f}  "
                           f"{d.question[:60]!r}  [{d.why}]")
        if self.not_compared:
            out.append("  not compared (not in both runs): " + ", ".join(self.not_compared))
        if self.docs_changed:
            out.append("  docs changed since the reference: " + ", ".join(self.docs_changed))
        return out

    def to_json(self) -> dict[str, Any]:
        """The verdict as stored in the run JSON and shown in the HTML report."""
        data = asdict(self)
        data["verdict"] = self.verdict
        for m, raw in zip(self.metrics, data["metrics"], strict=True):
            raw["tolerance"] = m.tolerance
        return data


def load_baseline(path: Path) -> RunRecord:
    return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))


def reference_for(store: RunStore, current: RunRecord, baseline: Path | None) -> RunRecord | None:
    """The committed baseline if given, else the run stored just before ``current``."""
    if baseline is not None:
        return load_baseline(baseline)
    ids = store.ids()
    earlier = [i for i in ids if i < current.id]
    return store.load(earlier[-1]) if earlier else None


def _verdict(metric: str, threshold: float, current: RunRecord, reference: RunRecord,
             changed: set[str], runs: list[tuple[RunRecord, RunRecord]]) -> MetricVerdict | None:
    key = score_of(metric)
    before = reference.by_id()
    pairs = []
    for q in current.questions:
        old = before.get(q.id)
        if old is not None and old.scores.get(key) is not None and q.scores.get(key) is not None:
            pairs.append((old, q))
    if not pairs:
        return None
    noise = measure(runs, metric)
    verdict = MetricVerdict(
        metric, threshold,
        mean([old.scores[key] for old, _ in pairs]) or 0.0,
        mean([q.scores[key] for _, q in pairs]) or 0.0,
        len(pairs), noise.value, len(noise.repeats), 0.0,
    )
    changed_total = 0.0
    for old, q in pairs:
        a, b = float(old.scores[key] or 0.0), float(q.scores[key] or 0.0)
        if abs(a - b) <= EPSILON:
            continue
        cause: Cause = cause_of(old, q, key, changed)
        if cause.counts:
            changed_total += a - b
        if a - b > EPSILON:
            counts = cause.counts and a - b > verdict.tolerance + EPSILON
            verdict.drops.append(
                QuestionChange(q.id, q.sample.question, a, b, cause.kind, cause.why(), cause.docs, counts)
            )
    verdict.changed_drop = changed_total / len(pairs)
    worse = verdict.regressed
    by_docs = [d for d in worse if d.cause == DOCS]
    if by_docs:
        verdict.failed = True
        docs = sorted({doc for d in by_docs for doc in d.docs})
        verdict.reason = f"{len(by_docs)} question(s) dropped after changes to {', '.join(docs)}"
    elif worse and verdict.changed_drop > threshold + EPSILON:
        verdict.failed = True
        verdict.reason = (f"questions whose inputs changed lowered the mean by {verdict.changed_drop:.3f} "
                          f"> {threshold:g}")
    verdict.drops.sort(key=lambda d: (not d.regressed, -d.drop, d.id))
    return verdict


def gate(
    current: RunRecord,
    reference: RunRecord | None,
    thresholds: dict[str, float],
    history: list[RunRecord] | None = None,
) -> GateResult:
    """Compare ``current`` with ``reference`` question by question on each thresholded metric."""
    if reference is None:
        return GateResult(None)
    common = set(reference.by_id()) & set(current.by_id())
    changed = docs_changed_between(history or [], reference, current)
    result = GateResult(reference.id, len(common), docs_changed=sorted(changed))
    runs = pairs_of(history or [], reference, current)  # the same run pairs measure every metric's noise
    for metric, threshold in thresholds.items():
        verdict = _verdict(metric, threshold, current, reference, changed, runs)
        if verdict is None:
            result.not_compared.append(metric)
        else:
            result.metrics.append(verdict)
    return result
