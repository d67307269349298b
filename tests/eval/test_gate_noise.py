"""The gate judges each question's drop by its cause: identical inputs are noise, changed ones count."""

from __future__ import annotations

from eval.gate import PASS, REGRESSED, gate
from eval.records import Context, RunRecord, aggregate
from tests.eval.conftest import make_record

THRESHOLDS = {"faithfulness": 0.05}


def _keyed(run_id: str, scores: dict[str, float], *, prompt: str = "p", reused: bool = False,
           chunk: dict[str, str] | None = None, docs_changed: dict[str, list[str]] | None = None) -> RunRecord:
    """A run whose answers carry answer keys (``prompt`` + id), as in-process runs do."""
    record = make_record(run_id, {q: {"faithfulness": v} for q, v in scores.items()}, docs_changed=docs_changed)
    for q in record.questions:
        q.sample.key = f"{prompt}-{q.id}"
        q.reused = ["answer", "faithfulness"] if reused else []
        if chunk and q.id in chunk:
            q.sample.contexts = [Context(chunk[q.id], f"docs/other-{q.id}.md", "Other", ["Other"], "Other.", 0.6)]
    record.aggregates = aggregate(record.questions)
    return record


def test_gate_noise_same_prompt_drop_passes() -> None:
    """A flip on a question whose prompt is byte-identical is the model's noise: listed, not failed."""
    before = _keyed("20250101T000000Z-000", {"q1": 1.0, "q2": 1.0, "q3": 1.0})
    after = _keyed("20250102T000000Z-000", {"q1": 0.0, "q2": 1.0, "q3": 1.0})
    result = gate(after, before, THRESHOLDS, [before, after])
    assert result.exit_code == PASS
    (verdict,) = result.metrics
    assert [d.id for d in verdict.drops] == ["q1"] and verdict.drops[0].cause == "same-prompt"
    assert not verdict.regressed and verdict.noise == 1.0 and verdict.repeats == 3
    assert any("noise" in line and "q1" in line for line in result.lines())


def test_gate_noise_changed_retrieval_drop_fails() -> None:
    """The same drop on a question whose retrieved chunks changed is a regression (nothing measured as noise)."""
    before = _keyed("20250101T000000Z-000", {"q1": 1.0, "q2": 1.0, "q3": 1.0})
    after = _keyed("20250102T000000Z-000", {"q1": 0.0, "q2": 1.0, "q3": 1.0}, prompt="changed",
                   chunk={"q1": "c-new"})
    result = gate(after, before, THRESHOLDS, [before, after])
    assert result.exit_code == REGRESSED
    (drop,) = result.metrics[0].regressed
    assert drop.id == "q1" and drop.cause == "retrieval" and "docs/other-q1.md" in drop.why


def test_gate_noise_measured_repeats_raise_the_tolerance() -> None:
    """Noise measured on earlier identical-input repeats (0.5) lets a 0.4 drop of a changed prompt pass."""
    r1 = _keyed("20250101T000000Z-000", {"q1": 1.0, "q2": 1.0, "q3": 0.5})
    r2 = _keyed("20250102T000000Z-000", {"q1": 0.5, "q2": 1.0, "q3": 1.0})  # same prompts, regenerated
    r3 = _keyed("20250103T000000Z-000", {"q1": 0.1, "q2": 1.0, "q3": 1.0}, prompt="new-settings")
    result = gate(r3, r2, THRESHOLDS, [r1, r2, r3])
    verdict = result.metrics[0]
    assert verdict.noise == 0.5 and verdict.tolerance == 0.5
    assert result.exit_code == PASS and verdict.drops[0].cause == "prompt" and not verdict.regressed
    worse = _keyed("20250103T000000Z-000", {"q1": 0.0, "q2": 1.0, "q3": 0.4}, prompt="new-settings")
    assert gate(worse, r2, THRESHOLDS, [r1, r2, worse]).exit_code == REGRESSED


def test_gate_noise_reused_scores_are_not_repeats() -> None:
    """Scores taken from an earlier run measure nothing: no repeats, noise not measured."""
    before = _keyed("20250101T000000Z-000", {"q1": 1.0})
    after = _keyed("20250102T000000Z-000", {"q1": 1.0}, reused=True)
    result = gate(after, before, THRESHOLDS, [before, after])
    assert result.metrics[0].noise is None and result.metrics[0].repeats == 0
    assert "noise not measured yet" in result.lines()[1]


def test_gate_noise_metric_missing_from_one_run_is_not_compared() -> None:
    """A metric only one run has (a --fast run has no faithfulness) is listed, not compared."""
    before = _keyed("20250101T000000Z-000", {"q1": 1.0})
    after = make_record("20250102T000000Z-000", {"q1": {"grounding": 1.0}})
    result = gate(after, before, {"faithfulness": 0.05, "grounding": 0.05}, [before, after])
    assert result.exit_code == PASS and result.not_compared == ["faithfulness", "grounding"]
    assert result.to_json()["verdict"] == "pass"


def test_gate_noise_failed_answer_is_listed_not_counted() -> None:
    """An answer that timed out in the new run is not a docs regression: listed as failed, the gate passes."""
    before = make_record("20250101T000000Z-000", {"q1": {"abstention_correct": 1.0}})
    after = make_record("20250102T000000Z-000", {"q1": {"abstention_correct": 0.0}}, answered={"q1": False})
    after.questions[0].sample.error = "model unavailable (degraded answer)"
    result = gate(after, before, {"abstention_accuracy": 0.05}, [before, after])
    assert result.exit_code == PASS
    (drop,) = result.metrics[0].drops
    assert drop.cause == "failed" and not drop.regressed
    assert any("answer failed" in line for line in result.lines())
