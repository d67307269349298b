"""Why a question's score moved between two runs, and how much scores move when nothing did.

A score can move for two kinds of reasons. Its inputs changed: a doc it depends on was
edited, its retrieved chunks differ, or its prompt or the answering settings changed.
Or nothing changed and a model was simply asked again: the answer regenerated from the
byte-identical prompt, or the judge re-scoring identical inputs. The first kind is what
a gate is for; the second is noise. Two runs carry the evidence to tell them apart:
the answer key (model settings + exact prompt) and each judged metric's score key.

The noise of a metric is measured on exactly those repeats: questions that two stored
runs computed afresh (not reused) from identical inputs. ``docent eval --fresh`` on an
unchanged corpus adds such repeats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eval.analysis import docs_of
from eval.records import QuestionResult, RunRecord

# Run-level rate -> the per-question score it averages, where the names differ.
SCORE_OF = {"abstention_accuracy": "abstention_correct"}

# Why a score moved. The first two are noise: nothing the score depends on changed.
SAME_INPUTS = "same-inputs"  # identical score key: the judge scored identical inputs again
SAME_PROMPT = "same-prompt"  # identical answer key: the answer was generated again
DOCS = "docs"  # a doc the question depends on changed
RETRIEVAL = "retrieval"  # other chunks were retrieved (no changed doc among them)
PROMPT = "prompt"  # the prompt or the answering settings changed (same chunks)
SCORER = "scorer"  # same answer and chunks, but the judge or the scorer changed
UNRECORDED = "unrecorded"  # no keys to compare (older runs, a server's answers): counted as a change
FAILED = "failed"  # the answer failed in one run (model timeout or down): nothing to compare
NOISE_CAUSES = (SAME_INPUTS, SAME_PROMPT)
NOT_COUNTED = (*NOISE_CAUSES, FAILED)

WHY = {
    SAME_INPUTS: "same inputs: the judge scored them again",
    SAME_PROMPT: "same prompt and model settings: the answer was generated again",
    DOCS: "docs changed",
    RETRIEVAL: "retrieved chunks changed",
    PROMPT: "same chunks, but the prompt or answering settings changed",
    SCORER: "same answer, but the judge or scorer changed",
    UNRECORDED: "inputs not recorded",
    FAILED: "the answer failed in one run (model timeout or unavailable): rerun to compare",
}


def not_counted_label(cause: str) -> str:
    """How a drop that is not a regression is listed: noise, a failed answer, or within tolerance."""
    if cause in NOISE_CAUSES:
        return "noise"
    return "answer failed" if cause == FAILED else "within tolerance"


def score_of(metric: str) -> str:
    """The per-question score key behind a run-level metric."""
    return SCORE_OF.get(metric, metric)


def _chunks(q: QuestionResult) -> list[str]:
    return [c.chunk_id for c in q.sample.contexts]


def noise_cause(old: QuestionResult, new: QuestionResult, key: str) -> str | None:
    """SAME_INPUTS or SAME_PROMPT when the evidence says nothing ``key`` depends on changed."""
    a, b = old.keys.get(key), new.keys.get(key)
    if a and a == b:
        return SAME_INPUTS
    if old.sample.key and old.sample.key == new.sample.key:
        return SAME_PROMPT
    return None


@dataclass(slots=True)
class Cause:
    """Why one question's score moved, and the docs involved (changed ones, or those whose chunks moved)."""

    kind: str
    docs: list[str] = field(default_factory=list)

    @property
    def counts(self) -> bool:
        """Whether the drop can be a regression (something it depends on changed)."""
        return self.kind not in NOT_COUNTED

    def why(self) -> str:
        text = WHY[self.kind]
        if self.docs:
            text += (": " if self.kind == DOCS else "; docs involved: ") + ", ".join(self.docs)
        return text


def cause_of(old: QuestionResult, new: QuestionResult, key: str, changed_docs: set[str]) -> Cause:
    """Classify the change of ``key`` between ``old`` and ``new`` (see the module docstring)."""
    touched = sorted((docs_of(old) | docs_of(new)) & changed_docs)
    if old.sample.error or new.sample.error:
        return Cause(FAILED, touched)
    noise = noise_cause(old, new, key)
    if noise is not None:
        return Cause(noise, touched)
    if touched:
        return Cause(DOCS, touched)
    before, after = _chunks(old), _chunks(new)
    if before != after or (not old.sample.key and old.sample.answered != new.sample.answered):
        moved = {c.doc_path for c in old.sample.contexts if c.chunk_id not in after}
        moved |= {c.doc_path for c in new.sample.contexts if c.chunk_id not in before}
        return Cause(RETRIEVAL, sorted(moved))
    a, b = old.keys.get(key), new.keys.get(key)
    if a and b and old.sample.answer == new.sample.answer:
        return Cause(SCORER)
    if old.sample.key and new.sample.key:
        return Cause(PROMPT)
    return Cause(UNRECORDED)


def recomputed(q: QuestionResult, key: str) -> bool:
    """Whether run ``q`` came from computed ``key`` afresh (a repeat), rather than reusing it."""
    if key in q.keys:  # a judged metric: its own reuse flag
        return key not in q.reused
    return bool(q.sample.key) and "answer" not in q.reused  # judge-free scores follow the answer


@dataclass(slots=True)
class Noise:
    """How much ``metric`` moved per question on repeats with identical inputs."""

    metric: str
    repeats: list[float] = field(default_factory=list)  # |change| per repeat

    @property
    def value(self) -> float | None:
        """The 90th percentile of the changes (None before any repeat was measured)."""
        if not self.repeats:
            return None
        ordered = sorted(self.repeats)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def measure(pairs: list[tuple[RunRecord, RunRecord]], metric: str) -> Noise:
    """The noise of ``metric`` over ``(earlier, later)`` run pairs."""
    key = score_of(metric)
    noise = Noise(metric)
    for earlier, later in pairs:
        before = earlier.by_id()
        for q in later.questions:
            old = before.get(q.id)
            if old is None or not recomputed(q, key) or noise_cause(old, q, key) is None:
                continue
            a, b = old.scores.get(key), q.scores.get(key)
            if a is not None and b is not None:
                noise.repeats.append(abs(a - b))
    return noise


def pairs_of(history: list[RunRecord], reference: RunRecord, current: RunRecord) -> list[tuple[RunRecord, RunRecord]]:
    """Consecutive stored runs (oldest first), and the pair being gated."""
    runs = sorted({r.id: r for r in history}.values(), key=lambda r: r.id)
    out = list(zip(runs, runs[1:], strict=False))
    seen = {(a.id, b.id) for a, b in out}
    if (reference.id, current.id) not in seen:
        out.append((reference, current))
    return out
