"""`docent ingest --watch` (compose's worker) hands each docs change to the eval trigger."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings
from entrypoints import cli
from eval.run_store import RunStore
from tests.eval.conftest import make_record, write_golden

# Typed loosely: the CLI keeps its lazily-importing helpers unannotated.
_eval_trigger: Any = cli._eval_trigger
CHANGE = {"added": ["guide/new.md"], "changed": [], "removed": []}


def _eval_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "docent-eval"]


@pytest.mark.parametrize("trigger", ["off", "affected"])
def test_worker_eval_hook_is_quiet_without_a_baseline(trigger: str, edge_store: EdgeStore, embedder: Embedder,
                                                      settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trigger off, or no evaluation run yet to compare with: no thread, nothing pending, no run."""
    monkeypatch.setenv("DOCENT_EVAL_TRIGGER", trigger)
    monkeypatch.setenv("DOCENT_EVAL_RUNS_DIR", str(settings.data_dir / "evals"))
    settings = settings.model_copy(update={"model": "docent-fake/echo-cite"})
    before = _eval_threads()
    hook = _eval_trigger(settings, edge_store, embedder)
    assert hook(CHANGE) is None  # the hook returns the evaluation's thread when it starts one
    assert _eval_threads() == before
    assert not (settings.data_dir / "evals" / ".pending.json").exists()
    assert len(RunStore(settings.data_dir / "evals").ids()) == 0


def test_worker_eval_hook_evaluates_the_change_after_a_baseline(
        edge_store: EdgeStore, embedder: Embedder, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a first run to compare with, the change is evaluated in the background and recorded in a new run."""
    runs = settings.data_dir / "evals"
    monkeypatch.setenv("DOCENT_EVAL_TRIGGER", "affected")
    monkeypatch.setenv("DOCENT_EVAL_RUNS_DIR", str(runs))
    monkeypatch.setenv("DOCENT_EVAL_JUDGE_MODEL", "docent-fake/json")
    monkeypatch.setenv("DOCENT_EVAL_JUDGE_RETRIES", "0")
    monkeypatch.setenv("DOCENT_EVAL_GOLDEN_PATH", str(write_golden(settings.data_dir.parent / "golden.jsonl")))
    settings = settings.model_copy(update={"model": "docent-fake/echo-cite"})
    store = RunStore(runs)
    store.save(make_record("20250101T000000Z-000", {"q001": {}}))

    thread = _eval_trigger(settings, edge_store, embedder)(CHANGE)
    assert isinstance(thread, threading.Thread) and thread.name == "docent-eval"
    thread.join(timeout=300)
    assert not thread.is_alive()
    ids = store.ids()
    assert len(ids) == 2
    record = store.load(ids[-1])
    assert record.docs_changed["added"] == ["guide/new.md"]
    assert not (runs / ".pending.json").exists()  # taken by the run, nothing left over
