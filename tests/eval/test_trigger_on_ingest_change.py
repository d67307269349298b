"""The ingest hook evaluates the affected subset in the background, one run at a time, dropping nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eval.run_store import RunStore
from eval.settings import EvalSettings
from eval.trigger import drain, on_ingest_change
from service.runtime import Runtime
from tests.eval.conftest import make_record, write_golden

# q004's golden source is configuration/tls.md; q002's is security/api-tokens.md; q001 and q068 are smoke.
IDS = ("q001", "q002", "q004", "q068")


def _baseline(store: RunStore) -> None:
    """A first run to compare with; without one, ingests trigger nothing."""
    store.save(make_record("20250101T000000Z-000", {"q001": {}}, cited={"q001": "reference/config-reference.md"}))


def test_trigger_on_ingest_change_runs_affected(
    make_runtime: Callable[..., Runtime], tmp_path: Path, make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """With a first run to compare with, a change to tls.md evaluates q004 plus the smoke set."""
    runtime = make_runtime()
    eval_settings = make_eval_settings(golden_path=write_golden(tmp_path / "g.jsonl", IDS))
    entry = {"ts": 1.0, "fingerprint": "x", "added": [], "changed": ["configuration/tls.md"], "removed": []}
    store = RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir))
    assert on_ingest_change(entry, runtime.settings, runtime=runtime, eval_settings=eval_settings) is None
    _baseline(store)

    thread = on_ingest_change(entry, runtime.settings, runtime=runtime, eval_settings=eval_settings)
    assert thread is not None
    thread.join(timeout=300)

    record = store.latest()
    assert record is not None and record.subset == "affected"
    assert [q.id for q in record.questions] == ["q001", "q004", "q068"]
    assert record.docs_changed["changed"] == ["configuration/tls.md"]
    assert record.by_id()["q004"].selected_because.startswith("golden source changed")


def test_trigger_on_ingest_change_off_does_nothing(
    make_eval_settings: Callable[..., EvalSettings], make_runtime: Callable[..., Runtime]
) -> None:
    """DOCENT_EVAL_TRIGGER=off: no thread, no run."""
    runtime = make_runtime()
    eval_settings = make_eval_settings(trigger="off")
    assert on_ingest_change({"changed": ["a.md"]}, runtime.settings, eval_settings=eval_settings) is None
    assert RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir)).ids() == []


def test_trigger_on_ingest_change_coalesces_while_busy(
    make_runtime: Callable[..., Runtime], tmp_path: Path, make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """Changes arriving while a run holds the lock are merged and evaluated by one follow-up run."""
    runtime = make_runtime()
    eval_settings = make_eval_settings(golden_path=write_golden(tmp_path / "g.jsonl", IDS))
    store = RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir))
    _baseline(store)
    with store.exclusive() as held:
        assert held
        for doc in ("configuration/tls.md", "security/api-tokens.md"):
            thread = on_ingest_change(
                {"changed": [doc]}, runtime.settings, runtime=runtime, eval_settings=eval_settings
            )
            assert thread is not None
            thread.join(timeout=30)  # busy: returns at once, leaving the change pending
        assert len(store.ids()) == 1
    ran = drain(runtime.settings, eval_settings, runtime)
    assert len(ran) == 1
    record = store.load(ran[0])
    assert [q.id for q in record.questions] == ["q001", "q002", "q004", "q068"]
    assert record.docs_changed["changed"] == ["configuration/tls.md", "security/api-tokens.md"]
    assert drain(runtime.settings, eval_settings, runtime) == []  # nothing left pending
