"""`docent eval score`: each input row comes back with faithfulness and per-claim detail."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cli import eval_app
from eval.judge import Judge, JudgeUsage
from eval.score_file import score_rows
from tests.eval.test_faithfulness_scorer import CONTEXT, SCRIPT, ScriptedJudge

ROWS = [
    {
        "id": "r1",
        "question": "Which port?",
        "contexts": [CONTEXT],
        "response": "Port 7421. Binds 0.0.0.0.",
        "extra": "kept",
    },
    {"id": "r2", "question": "Which port?", "contexts": [CONTEXT], "response": "Port 7421."},
]


def test_score_file_rows_get_score_and_claims(tmp_path: Path) -> None:
    """Output = input row + faithfulness + claims; rows already in the output are not scored again."""
    out = tmp_path / "out.jsonl"
    judge = Judge(ScriptedJudge(SCRIPT), None, "scripted", JudgeUsage())
    assert asyncio.run(score_rows(ROWS[:1], judge, out, progress=False)) == 1
    assert asyncio.run(score_rows(ROWS, judge, out, progress=False)) == 1  # r1 already done
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["r1", "r2"]
    assert rows[0]["extra"] == "kept" and rows[0]["faithfulness"] == 0.5 and rows[0]["error"] is None
    assert rows[0]["claims"][1] == {
        "statement": "The status server binds to 0.0.0.0.",
        "supported": False,
        "reason": "context says 127.0.0.1",
    }


def test_score_file_cli_through_litellm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command scores through a LiteLLM judge model string; a bad row fails with its line number."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    result = CliRunner().invoke(
        eval_app, ["score", "--input", str(source), "--output", str(out), "--judge", "docent-fake/json", "-q"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # The scripted JSON judge finds no statements: no checkable claim, so no score (not a zero).
    assert [(r["id"], r["faithfulness"], r["claims"]) for r in rows] == [("r1", None, []), ("r2", None, [])]

    source.write_text('{"id": "x", "question": "q"}\n')
    bad = CliRunner().invoke(eval_app, ["score", "--input", str(source), "--output", str(out)])
    assert bad.exit_code == 2 and "in.jsonl:1" in bad.output
