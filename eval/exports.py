"""The per-question table as CSV (the JSON is the run record itself)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from eval.records import SCORE_KEYS, RunRecord

COLUMNS = (
    "id",
    "kind",
    "visibility",
    "selected_because",
    "question",
    "answered",
    "expected_answer",
    "abstain_reason",
    *SCORE_KEYS,
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "cited_docs",
    "golden_docs",
    "reused",
    "error",
)


def to_csv(record: RunRecord) -> str:
    """One row per question; empty cells where a metric does not apply."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for q in record.questions:
        s = q.sample
        row: dict[str, object] = {
            "id": q.id,
            "kind": q.kind,
            "visibility": q.visibility,
            "selected_because": q.selected_because,
            "question": s.question,
            "answered": s.answered,
            "expected_answer": q.expected_answer,
            "abstain_reason": s.abstain_reason or "",
            "latency_ms": round(s.latency_ms, 1),
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "cited_docs": " ".join(q.cited_docs),
            "golden_docs": " ".join(q.golden_docs),
            "reused": " ".join(q.reused),
            "error": s.error or "; ".join(f"{k}: {v}" for k, v in q.errors.items()),
        }
        for key in SCORE_KEYS:
            value = q.scores.get(key)
            row[key] = "" if value is None else round(value, 4)
        writer.writerow(row)
    return out.getvalue()


def write_csv(record: RunRecord, path: Path) -> None:
    path.write_text(to_csv(record), encoding="utf-8")
