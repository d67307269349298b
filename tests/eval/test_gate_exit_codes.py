"""`docent eval gate` exits 0 on pass, 1 on a regression beyond the threshold, 2 with no runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cli import eval_app
from eval.run_store import RunStore
from tests.eval.conftest import make_record


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCENT_EVAL_RUNS_DIR", str(tmp_path / "evals"))
    monkeypatch.setenv("DOCENT_EVAL_GATE_THRESHOLDS", json.dumps({"faithfulness": 0.05}))
    monkeypatch.delenv("DOCENT_EVAL_BASELINE", raising=False)
    return RunStore(tmp_path / "evals")


def _gate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(eval_app, ["gate", *args])
    return result.exit_code, result.output


def test_gate_exit_codes_no_runs(runs: RunStore) -> None:
    """No stored run: exit 2 with a hint."""
    code, out = _gate()
    assert code == 2 and "docent eval" in out


def test_gate_exit_codes_pass_and_regression(runs: RunStore) -> None:
    """A drop within the threshold passes; beyond it fails and names the question and the doc change."""
    runs.save(make_record("20250101T000000Z-000", {"q1": {"faithfulness": 1.0}, "q2": {"faithfulness": 0.9}}))
    code, out = _gate()
    assert code == 0 and "nothing to compare" in out

    runs.save(
        make_record("20250102T000000Z-000", {"q1": {"faithfulness": 0.98}, "q2": {"faithfulness": 0.88}})
    )
    code, out = _gate()
    assert code == 0 and "pass" in out

    runs.save(
        make_record(
            "20250103T000000Z-000",
            {"q1": {"faithfulness": 0.2}, "q2": {"faithfulness": 0.88}},
            cited={"q1": "guide/proxies.md"},
            docs_changed={"changed": ["guide/proxies.md"]},
        )
    )
    code, out = _gate()
    assert code == 1
    assert "faithfulness: 0.930 -> 0.540" in out
    assert "q1" in out and "guide/proxies.md" in out and "q2 faithfulness" not in out


def test_gate_exit_codes_against_baseline(runs: RunStore, tmp_path: Path) -> None:
    """--baseline compares with a committed run file instead of the previous run."""
    baseline = make_record("20240101T000000Z-000", {"q1": {"faithfulness": 1.0}})
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(baseline.to_json()))
    runs.save(make_record("20250101T000000Z-000", {"q1": {"faithfulness": 0.5}}))
    runs.save(make_record("20250102T000000Z-000", {"q1": {"faithfulness": 0.5}}))
    assert _gate()[0] == 0  # vs the previous run: unchanged
    code, out = _gate("--baseline", str(path))
    assert code == 1 and "20240101T000000Z-000" in out
