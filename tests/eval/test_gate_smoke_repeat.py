"""The smoke gate on an unchanged corpus passes every time; a planted doc regression still fails it.

Real index and embedder, the scripted models through the real LiteLLM path, the real
golden smoke questions (first test) and the `docent eval` command (second test).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docent.settings import Settings
from eval.cli import eval_app
from eval.gate import PASS, gate, reference_for
from eval.golden import DEFAULT_PATH
from eval.records import RunRecord
from eval.run_store import RunStore
from eval.settings import EvalSettings
from eval.suite import RunRequest, run
from ingest import worker
from service.runtime import Runtime
from tests.conftest import write


def _generated(record: RunRecord) -> dict[str, str]:
    """Question id -> answer key, for the answers that went to the model (abstentions before it have none)."""
    return {q.id: q.sample.key for q in record.questions if q.sample.key}


def test_gate_smoke_passes_three_times_on_unchanged_corpus(
    make_runtime: Callable[..., Runtime], make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """Three smoke runs, the middle one regenerating and re-judging everything: identical
    prompts every time, and the gate passes all three."""
    runtime = make_runtime(model="docent-fake/pick-first", answer_mode="extractive")
    eval_settings = make_eval_settings(golden_path=DEFAULT_PATH)
    store = RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir))
    records = []
    for attempt in range(3):
        record = run(runtime.settings, eval_settings,
                     RunRequest(subset="smoke", progress=False, reuse=attempt != 1), runtime=runtime)
        verdict = gate(record, reference_for(store, record, None), eval_settings.gate_thresholds,
                       store.history())
        assert verdict.exit_code == PASS, "\n".join(verdict.lines())
        assert record.gate["verdict"] == ("no reference" if attempt == 0 else "pass")
        records.append(record)
    first, fresh, reused = records
    assert len(first.questions) >= 10 and _generated(first)
    # Identical inputs, identical retrieval: the same prompts whether generated again or reused.
    assert _generated(fresh) == _generated(first) and _generated(reused) == _generated(first)
    assert not any(q.reused for q in fresh.questions)
    assert all("answer" in q.reused for q in reused.questions if q.sample.key)
    compared = {m["metric"] for m in reused.gate["metrics"]}
    assert {"grounding", "abstention_accuracy"} <= compared


SMOKE = [
    {"id": "s1", "question": "Where does the SOCKS5 password go?", "reference": "In proxy.password_file.",
     "sources": [{"doc": "guide/proxies.md", "section": "Authentication"}], "kind": "factual", "smoke": True},
    {"id": "s2", "question": "How much is the Team plan?", "reference": "$12.",
     "sources": [{"doc": "billing/plans.md", "section": "Plans"}], "kind": "factual", "smoke": True},
    {"id": "s3", "question": "Is there an iPhone app?", "reference": "Not covered.", "sources": [],
     "kind": "unanswerable", "smoke": True},
]


@pytest.fixture
def smoke_env(settings: Settings, mini_corpus: Path, models_cache: Path, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An ingested mini corpus, an all-smoke question set, and the variables `docent eval` reads."""
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "models").symlink_to(models_cache)  # reuse the session's ONNX export
    worker.run(settings, progress=False)
    questions = tmp_path / "smoke.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in SMOKE) + "\n")
    for key, value in {"DOCENT_DATA_DIR": settings.data_dir, "DOCENT_DOCS_DIR": mini_corpus,
                       "DOCENT_MODEL": "docent-fake/pick-first", "DOCENT_CHAT__ANSWER_MODE": "extractive",
                       "DOCENT_EVAL_JUDGE_MODEL": "docent-fake/json", "DOCENT_EVAL_GOLDEN_PATH": questions,
                       "DOCENT_WATCH": "false"}.items():
        monkeypatch.setenv(key, str(value))
    for key in ("DOCENT_EVAL_RUNS_DIR", "DOCENT_EVAL_BASELINE", "DOCENT_EVAL_GATE_THRESHOLDS"):
        monkeypatch.delenv(key, raising=False)
    return settings


def test_gate_smoke_cli_three_passes_then_planted_regression_fails(smoke_env: Settings) -> None:
    """`docent eval --subset smoke --gate` passes three times unchanged; after a page goes
    internal it fails, naming the question and the page."""
    runner = CliRunner()
    for _ in range(3):
        result = runner.invoke(eval_app, ["--subset", "smoke", "-q", "--gate"])
        assert result.exit_code == 0, result.output
    assert "REGRESSED" not in result.output and "gate: vs" in result.output

    page = smoke_env.docs_dir / "guide/proxies.md"
    write(smoke_env.docs_dir, "guide/proxies.md", page.read_text().replace("visibility: public",
                                                                           "visibility: internal"))
    worker.run(smoke_env, progress=False)
    planted = runner.invoke(eval_app, ["--subset", "smoke", "-q", "--gate"])
    assert planted.exit_code == 1, planted.output
    assert "REGRESSED" in planted.output and "abstention_accuracy" in planted.output
    regressed = [line for line in planted.output.splitlines() if line.strip().startswith("regressed")]
    assert regressed and all("s1" in line and "guide/proxies.md" in line for line in regressed)

    # The fast loop gates too, on the metrics both runs have (no judge, so no faithfulness).
    fast = runner.invoke(eval_app, ["--subset", "smoke", "-q", "--fast", "--gate", "--json"])
    assert fast.exit_code == 0, fast.output
    verdict = json.loads(fast.output)["gate"]
    assert verdict["verdict"] == "pass" and "faithfulness" in verdict["not_compared"]
