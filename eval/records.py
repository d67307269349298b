"""What one evaluation run records: the answers, every per-question score, and aggregates.

Plain dataclasses inside the code; ``to_json``/``from_json`` are the file edge. A run
is stored as one JSON document (see ``eval.run_store``), so a run read back from disk
is the same object the report, the gate and the API work with.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCORE_KEYS = (
    "faithfulness",
    "answer_relevancy",
    "context_precision",
    "context_recall",
    "nonllm_context_precision",
    "nonllm_context_recall",
    "citation_validity",
    "citation_support",
    "grounding",
    "gold_cited",
    "reference_recall",
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr",
    "abstention_correct",
)
"""Per-question scores in 0..1, in report order."""


@dataclass(slots=True)
class Context:
    """A retrieved chunk as the answering model saw it."""

    chunk_id: str
    doc_path: str
    title: str
    heading_path: list[str]
    text: str
    similarity: float = 0.0


@dataclass(slots=True)
class CitationRef:
    """A citation in marker order (``citations[0]`` is ``[1]``)."""

    marker: int
    chunk_id: str
    doc_path: str
    title: str
    heading_path: list[str]
    url: str = ""


@dataclass(slots=True)
class Sample:
    """One golden question answered by the pipeline under test."""

    id: str
    question: str
    answer: str
    answered: bool  # False: abstained (or degraded)
    contexts: list[Context]
    citations: list[CitationRef]
    history: list[dict[str, str]] = field(default_factory=list)
    abstain_reason: str | None = None
    degraded: bool = False
    removed_markers: list[int] = field(default_factory=list)
    # The grounding verifier's verdict (service/grounding.py): sentences it withdrew from the
    # answer, and the supported share of the model's checked claims before withdrawal
    # (None: nothing checked, or a server that does not report it).
    unsupported_sentences: list[str] = field(default_factory=list)
    grounding: float | None = None
    answer_mode: str = ""  # generative | extractive; "" when the answerer did not say
    rewritten_query: str = ""
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    error: str | None = None
    key: str = ""  # answer cache key (model settings + exact prompt); "" when not reusable
    reused: bool = False  # taken from an earlier run with the identical prompt

    @staticmethod
    def from_json(raw: dict[str, Any]) -> Sample:
        data = dict(raw)
        data["contexts"] = [Context(**c) for c in data.get("contexts", [])]
        data["citations"] = [CitationRef(**c) for c in data.get("citations", [])]
        names = {f.name for f in fields(Sample)}
        return Sample(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class QuestionResult:
    """A sample plus its golden metadata, scores, per-metric detail and seconds."""

    sample: Sample
    kind: str
    visibility: str
    reference: str
    expected_answer: bool  # the public path should answer (else abstain)
    golden_docs: list[str]
    selected_because: str = ""
    scores: dict[str, float | None] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # metric -> score cache key
    reused: list[str] = field(default_factory=list)  # metrics taken from an earlier run

    @property
    def id(self) -> str:
        return self.sample.id

    @property
    def cited_docs(self) -> list[str]:
        return sorted({c.doc_path for c in self.sample.citations})

    @staticmethod
    def from_json(raw: dict[str, Any]) -> QuestionResult:
        data = dict(raw)
        data["sample"] = Sample.from_json(data["sample"])
        names = {f.name for f in fields(QuestionResult)}
        return QuestionResult(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class RunRecord:
    """Everything about one run; stored as ``<runs_dir>/<id>.json``."""

    id: str
    started_at: float
    finished_at: float | None
    subset: str
    corpus_fingerprint: str
    models: dict[str, str]
    metrics: list[str]
    questions: list[QuestionResult]
    docs_changed: dict[str, list[str]] = field(default_factory=dict)  # since the previous run
    previous_run: str | None = None
    source: str = "in-process"  # or the --url evaluated
    judge_usage: dict[str, int] = field(default_factory=dict)
    aggregates: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # The gate's verdict against the reference run when it was stored (eval/gate.py), question by question.
    gate: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _clean(asdict(self))
        return data

    @staticmethod
    def from_json(raw: dict[str, Any]) -> RunRecord:
        data = dict(raw)
        data["questions"] = [QuestionResult.from_json(q) for q in data.get("questions", [])]
        names = {f.name for f in fields(RunRecord)}
        return RunRecord(**{k: v for k, v in data.items() if k in names})

    def by_id(self) -> dict[str, QuestionResult]:
        return {q.id: q for q in self.questions}


def _clean(value: Any) -> Any:
    """NaN and infinities are not JSON: store them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def mean(values: list[float | None]) -> float | None:
    """Mean of the finite values; None when there are none."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def aggregate(questions: list[QuestionResult]) -> dict[str, float | None]:
    """Run-level numbers: the mean of every score, abstention accuracy, latency and tokens."""
    out: dict[str, float | None] = {}
    for key in SCORE_KEYS:
        out[key] = mean([q.scores.get(key) for q in questions])
    out["abstention_accuracy"] = out.pop("abstention_correct")
    latencies = [q.sample.latency_ms for q in questions if q.sample.error is None]
    out["latency_p50_ms"] = statistics.median(latencies) if latencies else None
    out["latency_p95_ms"] = percentile(latencies, 0.95)
    out["prompt_tokens_mean"] = mean([float(q.sample.prompt_tokens) for q in questions])
    out["completion_tokens_mean"] = mean([float(q.sample.completion_tokens) for q in questions])
    out["questions"] = float(len(questions))
    out["answered"] = float(sum(q.sample.answered for q in questions))
    out["errors"] = float(sum(bool(q.sample.error) for q in questions))
    return out


RATE_KEYS = (*(k for k in SCORE_KEYS if k != "abstention_correct"), "abstention_accuracy")
"""Aggregates that are rates in 0..1 (what the gate and the trend chart compare)."""
