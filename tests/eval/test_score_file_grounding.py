"""`docent eval score` grounding: per row and per claim, judge-free with `--metrics grounding`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from docent.embedder import Embedder
from eval.cli import eval_app
from eval.score_file import parse_metrics, score_rows

CONTEXTS = [
    "The status server listens on port 7421. It binds to 127.0.0.1 by default.",
    "Backups run every night at 02:00 and are kept for 14 days.",
]
ROWS = [
    {   # verbatim from the cited contexts: supported
        "id": "ok",
        "question": "Which port, and how long are backups kept?",
        "contexts": CONTEXTS,
        "response": "The status server listens on port 7421 [1]. Backups are kept for 14 days [2].",
    },
    {   # a swapped number planted in the second sentence: flagged
        "id": "planted",
        "question": "How long are backups kept?",
        "contexts": CONTEXTS,
        "response": "Backups run every night at 02:00 [2]. They are kept for 41 days [2].",
    },
]


def _read(path: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in (json.loads(line) for line in path.read_text().splitlines())}


def test_score_file_grounding_rows_and_claims(tmp_path: Path) -> None:
    """A verbatim answer scores 1.0; the planted number fails with the token it lacks; no judge needed."""
    out = tmp_path / "out.jsonl"
    assert asyncio.run(score_rows(ROWS, None, out, progress=False, metrics=["grounding"])) == 2
    rows = _read(out)
    assert rows["ok"]["grounding"] == 1.0 and rows["ok"]["error"] is None
    assert "faithfulness" not in rows["ok"] and "claims" not in rows["ok"]
    assert [c["supported"] for c in rows["ok"]["grounding_claims"]] == [True, True]
    assert rows["planted"]["grounding"] == 0.5
    first, second = rows["planted"]["grounding_claims"]
    assert first == {"sentence": "Backups run every night at 02:00.", "supported": True, "support": 1.0,
                     "missing": [], "reason": ""}
    assert second["sentence"] == "They are kept for 41 days." and second["supported"] is False
    assert second["missing"] == ["41"] and second["reason"] == "missing"


def test_score_file_grounding_with_embedder(tmp_path: Path, embedder: Embedder) -> None:
    """The embedder is only a second signal: it never rescues a wrong number."""
    out = tmp_path / "out.jsonl"
    asyncio.run(score_rows(ROWS, None, out, progress=False, metrics=["grounding"], embed=embedder.embed_documents))
    rows = _read(out)
    assert rows["ok"]["grounding"] == 1.0 and rows["planted"]["grounding"] == 0.5


def test_score_file_metrics_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--metrics grounding` never builds a judge; the default adds faithfulness; bad names exit 2."""
    import eval.judge

    def no_judge(*args: object, **kwargs: object) -> None:
        raise AssertionError("the judge must not be loaded for --metrics grounding")

    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    with monkeypatch.context() as patch:
        patch.setattr(eval.judge, "build_judge", no_judge)
        fast = CliRunner().invoke(eval_app, ["score", "--input", str(source), "--output",
                                             str(tmp_path / "fast.jsonl"), "--metrics", "grounding", "-q"])
    assert fast.exit_code == 0, fast.output
    assert {k: r["grounding"] for k, r in _read(tmp_path / "fast.jsonl").items()} == {"ok": 1.0, "planted": 0.5}

    both = CliRunner().invoke(eval_app, ["score", "--input", str(source), "--output", str(tmp_path / "both.jsonl"),
                                         "--judge", "docent-fake/json", "-q"])
    assert both.exit_code == 0, both.output
    row = _read(tmp_path / "both.jsonl")["planted"]
    assert row["grounding"] == 0.5 and row["faithfulness"] is None and row["claims"] == [] and row["error"] is None

    bad = CliRunner().invoke(eval_app, ["score", "--input", str(source), "--output", str(tmp_path / "x.jsonl"),
                                        "--metrics", "grounding,vibes"])
    assert bad.exit_code == 2 and "vibes" in bad.output
    assert parse_metrics("faithfulness, grounding") == ["grounding", "faithfulness"]
