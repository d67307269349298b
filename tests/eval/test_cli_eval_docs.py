"""`docent eval run --docs DIR --questions FILE`: a doc writer's own folder and questions, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docent.settings import Settings
from eval.cli import eval_app
from eval.corpora import folder_slug
from eval.run_store import RunStore
from tests.conftest import write

QUESTIONS = [
    {"id": "w1", "question": "How long are nightly backups kept?",
     "reference": "Nightly backups are kept for 14 days.",
     "sources": [{"doc": "ops/backups.md", "section": "Retention"}], "kind": "factual", "smoke": True},
    {"id": "w2", "question": "Which port does the status server listen on?",
     "reference": "The status server listens on port 7421.",
     "sources": [{"doc": "status.md", "section": "Status server"}], "kind": "factual"},
]


@pytest.fixture
def own_docs(settings: Settings, models_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writer's folder of small pages (never ingested into the main data dir) and the CLI's variables."""
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "models").symlink_to(models_cache)  # reuse the session's ONNX export
    docs = tmp_path / "writer docs"
    write(docs, "ops/backups.md", """
        # Backups
        Backups protect the workspace database.
        ## Retention
        Nightly backups are kept for 14 days. Weekly backups are kept for 12 weeks.
        """)
    write(docs, "status.md", """
        # Status server
        The status server listens on port 7421. It binds to 127.0.0.1 unless configured otherwise.
        """)
    write(docs, "billing.md", """
        # Invoices
        Invoices are emailed to the billing contact on the first day of each month.
        """)
    for key, value in {"DOCENT_DATA_DIR": settings.data_dir, "DOCENT_DOCS_DIR": settings.docs_dir,
                       "DOCENT_MODEL": "docent-fake/echo-cite", "DOCENT_EVAL_JUDGE_MODEL": "docent-fake/json",
                       "DOCENT_WATCH": "false"}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("DOCENT_EVAL_RUNS_DIR", raising=False)
    return docs


def test_cli_eval_docs_and_questions(own_docs: Path, settings: Settings, tmp_path: Path) -> None:
    """The folder is ingested into its own data dir, answered and scored; the next run reuses the index."""
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    args = ["run", "--docs", str(own_docs), "--questions", str(questions), "--metrics", "faithfulness", "-q"]
    first = CliRunner().invoke(eval_app, args)
    assert first.exit_code == 0, first.output
    assert "3 added" in first.output and "gold_cited" in first.output and "grounding" in first.output

    corpus_dir = settings.data_dir / "eval-corpora" / folder_slug(own_docs)
    assert (corpus_dir / "index").is_dir() and not (settings.data_dir / "index").exists()
    record = RunStore(corpus_dir / "evals").latest()
    assert record is not None and [q.id for q in record.questions] == ["w1", "w2"]
    for q in record.questions:
        assert q.sample.error is None and q.sample.answered, q.sample
        # echo-cite quotes source [1] verbatim: the verifier supports it, the citation is gold.
        assert q.scores["gold_cited"] == 1.0 and q.scores["grounding"] == 1.0
        assert q.scores["reference_recall"] is not None and q.scores["reference_recall"] > 0.5
        assert q.scores["hit@1"] == 1.0
    assert record.aggregates["gold_cited"] == 1.0
    assert "gold_cited" in (corpus_dir / "evals" / f"{record.id}.html").read_text()

    again = CliRunner().invoke(eval_app, [*args[1:], "--json"])  # `docent eval --docs ...` spells the same
    assert again.exit_code == 0, again.output
    assert "0 added" in again.output and "3 unchanged" in again.output
    assert len(RunStore(corpus_dir / "evals").ids()) == 2


def test_cli_eval_docs_bad_arguments(own_docs: Path, tmp_path: Path) -> None:
    """Missing folder or file, a malformed line, or contradictory options: exit 2 and a message."""
    good = tmp_path / "q.jsonl"
    good.write_text(json.dumps(QUESTIONS[0]) + "\n")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(QUESTIONS[0]) + "\n{not json\n")
    no_id = tmp_path / "noid.jsonl"
    no_id.write_text('{"question": "Where?"}\n')
    cases = {
        "docs folder not found": ["--docs", str(tmp_path / "nope"), "--questions", str(good)],
        "question file not found": ["--docs", str(own_docs), "--questions", str(tmp_path / "nope.jsonl")],
        "bad.jsonl:2": ["--docs", str(own_docs), "--questions", str(bad_json)],
        "noid.jsonl:1": ["--docs", str(own_docs), "--questions", str(no_id)],
        "needs --questions": ["--docs", str(own_docs)],
        "unknown corpus 'nope'": ["--corpus", "nope"],
        "not both": ["--corpus", "zulip-help", "--docs", str(own_docs)],
        "own index": ["--docs", str(own_docs), "--questions", str(good), "--url", "http://127.0.0.1:1"],
    }
    for message, args in cases.items():
        result = CliRunner().invoke(eval_app, ["run", *args])
        assert result.exit_code == 2, (message, result.output)
        assert message in result.output and "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_corpus_names_resolve_through_corpora_json() -> None:
    """--corpus NAME finds the docs root and questions listed in eval/dev/corpora.json."""
    from eval.corpora import REPO, named

    corpus = named("fastapi-docs")
    assert corpus.name == "fastapi-docs"
    assert corpus.questions == REPO / "eval" / "dev" / "fastapi-docs.jsonl"
    assert corpus.docs == (REPO / "../shared/corpora/fastapi-docs/docs/en/docs").resolve()
