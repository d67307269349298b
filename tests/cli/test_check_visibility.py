"""`docent ingest --check-visibility`: every doc, its visibility and the rule; non-zero on doubt."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from entrypoints.cli import app

REPO = Path(__file__).resolve().parents[2]


def _run(docs: Path, tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ingest", "--check-visibility", str(docs), *args],
                                env={"DOCENT_DATA_DIR": str(tmp_path / "data"), **env})
    return result.exit_code, result.output


def test_docs_corpus_passes_and_lists_every_page(tmp_path: Path) -> None:
    code, out = _run(REPO / "docs-corpus", tmp_path, "--json")
    rows = json.loads(out.splitlines()[0])
    assert code == 0, out
    assert len(rows) == sum(1 for p in (REPO / "docs-corpus").rglob("*.md"))
    by_path = {r["path"]: r for r in rows}
    assert by_path["internal/escalation-policy.md"]["visibility"] == "internal"
    assert all(r["rule"] for r in rows)
    assert not (tmp_path / "data").exists()  # a check, not an ingest: the index is never opened


def test_broken_metadata_fails_the_check(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.md").write_text("---\nvisibility: public\n---\n# Ok\n\nFine.\n")
    (docs / "typo.md").write_text("---\nvisiblity: internal\n---\n# Typo\n\nSecret.\n")
    code, out = _run(docs, tmp_path)
    assert code == 1, out
    line = next(line for line in out.splitlines() if "typo.md" in line)
    assert line.startswith("BAD") and "internal" in line and "visiblity" in line
    assert next(line for line in out.splitlines() if "ok.md" in line).startswith("ok ")


def test_undecided_page_fails_only_without_a_default(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "silent.md").write_text("# Silent\n\nNo front matter here.\n")
    code, out = _run(docs, tmp_path)
    assert code == 0 and "source default" in out, out
    code, out = _run(docs, tmp_path, DOCENT_VISIBILITY__DEFAULT="null")
    assert code == 1 and "no decision" in out, out
    code, out = _run(docs, tmp_path, DOCENT_VISIBILITY__DEFAULT="internal")
    assert code == 0 and "internal" in out, out


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    code, out = _run(tmp_path / "nope", tmp_path)
    assert code == 2 and "does not exist" in out
