"""Eval fixtures: the shared docs-corpus index and runtimes, a tiny golden set, eval settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from docent.settings import Settings
from eval.golden import DEFAULT_PATH
from eval.records import CitationRef, Context, QuestionResult, RunRecord, Sample, aggregate
from eval.settings import EvalSettings
from tests.service.conftest import make_runtime  # noqa: F401 - fixture reused here

# q001: answerable (smoke); q004: answerable; q068: unanswerable (smoke).
TINY = ("q001", "q004", "q068")


def write_golden(path: Path, ids: tuple[str, ...] = TINY) -> Path:
    """A golden file holding only ``ids`` (in golden order)."""
    lines = [line for line in DEFAULT_PATH.read_text().splitlines() if line and json.loads(line)["id"] in ids]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tiny_golden(tmp_path: Path) -> Path:
    return write_golden(tmp_path / "golden.jsonl")


@pytest.fixture
def make_eval_settings(tmp_path: Path, tiny_golden: Path) -> Callable[..., EvalSettings]:
    """Eval settings under tmp_path, no environment leaking in; scripted judge unless given."""

    def make(**overrides: object) -> EvalSettings:
        values: dict[str, object] = {
            "runs_dir": tmp_path / "evals",
            "golden_path": tiny_golden,
            "judge_model": "docent-fake/json",
            "judge_retries": 0,
            "trigger": "affected",
        }
        values.update(overrides)
        return EvalSettings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


def settings_of(runtime: object) -> Settings:
    return runtime.settings  # type: ignore[attr-defined, no-any-return]


def make_record(
    run_id: str,
    scores: dict[str, dict[str, float | None]],
    *,
    cited: dict[str, str] | None = None,
    docs_changed: dict[str, list[str]] | None = None,
    answered: dict[str, bool] | None = None,
    started_at: float = 0.0,
) -> RunRecord:
    """A stored-run-shaped record with the given per-question scores (no models involved)."""
    questions = []
    for qid, values in scores.items():
        doc = (cited or {}).get(qid, f"docs/{qid}.md")
        ok = (answered or {}).get(qid, True)
        sample = Sample(
            qid,
            f"Question {qid}?",
            f"Answer to {qid} [1]." if ok else "I couldn't find this.",
            ok,
            [Context(f"c-{qid}", doc, "Title", ["Title", "Section"], f"Text about {qid}.", 0.7)],
            [CitationRef(1, f"c-{qid}", doc, "Title", ["Title", "Section"])] if ok else [],
            abstain_reason=None if ok else "low_relevance",
            latency_ms=100.0,
        )
        questions.append(
            QuestionResult(sample, "factual", "public", "Ref.", True, [f"docs/{qid}.md"], scores=dict(values))
        )
    return RunRecord(
        run_id,
        started_at,
        started_at + 1,
        "full",
        "fp",
        {"answer": "m", "judge": "j"},
        ["faithfulness"],
        questions,
        docs_changed or {},
        aggregates=aggregate(questions),
    )
