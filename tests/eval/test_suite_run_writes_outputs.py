"""A run over the real index with scripted models stores JSON, CSV and an HTML report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from eval.settings import EvalSettings
from eval.suite import RunRequest, run
from service.runtime import Runtime


def test_suite_run_writes_json_csv_html(
    make_runtime: Callable[..., Runtime], make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """Every selected question is answered, scored where applicable, and written three ways."""
    runtime = make_runtime(model="docent-fake/echo-cite")
    eval_settings = make_eval_settings()
    record = run(runtime.settings, eval_settings, RunRequest(subset="full", progress=False), runtime=runtime)

    by_id = record.by_id()
    assert list(by_id) == ["q001", "q004", "q068"]
    assert by_id["q001"].sample.answered and by_id["q001"].sample.citations
    assert by_id["q068"].scores["abstention_correct"] is not None
    assert by_id["q001"].scores["hit@5"] == 1.0
    assert by_id["q001"].scores["citation_validity"] == 1.0
    assert by_id["q001"].scores["nonllm_context_recall"] is not None
    assert "faithfulness" in by_id["q001"].seconds
    runs = eval_settings.resolved_runs_dir(runtime.settings.data_dir)
    stored = json.loads((runs / f"{record.id}.json").read_text())
    assert stored["corpus_fingerprint"] == record.corpus_fingerprint and len(stored["questions"]) == 3
    rows = list(csv.DictReader(io.StringIO((runs / f"{record.id}.csv").read_text())))
    assert [r["id"] for r in rows] == ["q001", "q004", "q068"]
    assert (runs / f"{record.id}.html").read_text().startswith("<!DOCTYPE html>")
    assert not (runs / "partial.jsonl").exists()
