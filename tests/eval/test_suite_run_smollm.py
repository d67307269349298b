"""The runner end to end with the small local model as both answerer and judge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eval.records import SCORE_KEYS
from eval.settings import ALL_METRICS, EvalSettings
from eval.suite import RunRequest, run
from service.runtime import Runtime
from tests.eval.conftest import write_golden

pytestmark = pytest.mark.slow


def test_suite_run_smollm_scores_every_metric(
    make_runtime: Callable[..., Runtime], tmp_path: Path, make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """With docent-local/smollm2-135m answering and judging, every metric is computed through Ragas."""
    runtime = make_runtime(model="docent-local/smollm2-135m", timeout_s=300, rewrite="off")
    eval_settings = make_eval_settings(
        judge_model="docent-local/smollm2-135m",
        judge_max_tokens=384,
        golden_path=write_golden(tmp_path / "g.jsonl", ("q001", "q068")),
    )
    record = run(runtime.settings, eval_settings, RunRequest(subset="full", progress=False), runtime=runtime)

    q001, q068 = record.questions
    assert record.models["judge"] == "docent-local/smollm2-135m"
    assert record.judge_usage["calls"] > 0
    assert q068.scores["abstention_correct"] is not None
    for key, value in q001.scores.items():
        assert key in SCORE_KEYS and (value is None or 0.0 <= value <= 1.0)
    if q001.sample.answered:
        # Each judged metric ran (a value, or an error recorded for the report), and was timed.
        for metric in ALL_METRICS:
            assert metric in q001.seconds, metric
            assert metric in q001.scores
    assert record.aggregates["abstention_accuracy"] is not None
