"""`docent eval` end to end through the CLI: a full run, a docs edit, then `--subset changed --gate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docent.settings import Settings
from eval.cli import eval_app
from eval.run_store import RunStore
from ingest import worker
from tests.conftest import write
from tests.eval.test_subsets_affected import GOLDEN


@pytest.fixture
def cli_env(settings: Settings, mini_corpus: Path, models_cache: Path, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An ingested mini corpus and the variables the CLI reads (scripted answerer and judge)."""
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "models").symlink_to(models_cache)  # reuse the session's ONNX export
    worker.run(settings, progress=False)
    golden = tmp_path / "golden.jsonl"
    golden.write_text("\n".join(json.dumps(g) for g in GOLDEN) + "\n")
    for key, value in {"DOCENT_DATA_DIR": settings.data_dir, "DOCENT_DOCS_DIR": mini_corpus,
                       "DOCENT_MODEL": "docent-fake/echo-cite", "DOCENT_EVAL_JUDGE_MODEL": "docent-fake/json",
                       "DOCENT_EVAL_GOLDEN_PATH": golden, "DOCENT_WATCH": "false"}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("DOCENT_EVAL_RUNS_DIR", raising=False)
    return settings


def test_cli_eval_run_then_changed_subset(cli_env: Settings) -> None:
    """The changed subset after an edit asks only touched questions plus smoke, and records the change."""
    runner = CliRunner()
    first = runner.invoke(eval_app, ["--subset", "full", "-q"])
    assert first.exit_code == 0, first.output
    assert "report:" in first.output and "abstention_accuracy" in first.output
    store = RunStore(cli_env.data_dir / "evals")
    assert len(store.ids()) == 1 and len(store.latest().questions) == 4  # type: ignore[union-attr]

    write(cli_env.docs_dir, "billing/plans.md", (cli_env.docs_dir / "billing/plans.md").read_text()
          .replace("| Team | $12 | 25 |", "| Team | $14 | 25 |"))
    worker.run(cli_env, progress=False)

    second = runner.invoke(eval_app, ["--subset", "changed", "-q", "--gate"])
    assert second.exit_code == 0, second.output
    record = store.latest()
    assert record is not None and record.subset == "affected"
    assert record.docs_changed == {"added": [], "changed": ["billing/plans.md"], "removed": []}
    assert [q.id for q in record.questions] == ["p2", "p3", "p4"]
    assert record.corpus_fingerprint != store.load(store.ids()[0]).corpus_fingerprint
    assert "gate:" in second.output
