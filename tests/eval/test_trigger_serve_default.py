"""`docent serve` evaluates after docs changes only when asked to; the evaluation runs at a lower priority."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from docent.settings import Settings
from entrypoints.asgi import _eval_trigger
from eval import trigger
from eval.run_store import RunStore
from eval.settings import EvalSettings
from service.runtime import Runtime
from tests.eval.conftest import make_record


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No DOCENT_EVAL_TRIGGER from the environment or a .env file."""
    monkeypatch.delenv("DOCENT_EVAL_TRIGGER", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_trigger_serve_default_is_off(settings: Settings) -> None:
    """Unset, the server attaches no hook: the judge never loads into the API process on a docs change."""
    assert _eval_trigger(settings) is None


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(("value", "on"), [("affected", True), ("smoke", True), ("off", False)])
def test_trigger_serve_explicit_setting(value: str, on: bool, settings: Settings,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """DOCENT_EVAL_TRIGGER=smoke|affected turns the server's hook on; =off keeps it off."""
    monkeypatch.setenv("DOCENT_EVAL_TRIGGER", value)
    assert (_eval_trigger(settings) is not None) is on


@pytest.mark.usefixtures("clean_env")
def test_trigger_serve_explicit_hook_runs_niced_thread(
        make_runtime: Callable[..., Runtime], make_eval_settings: Callable[..., EvalSettings],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Turned on, the server's hook evaluates in a background thread at nice +10, off the request path."""
    runtime = make_runtime()
    eval_settings = make_eval_settings()
    RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir)).save(make_record("20250101T000000Z-000", {}))
    seen: dict[str, Any] = {}

    def drain(settings: Settings, es: EvalSettings, rt: Any) -> list[str]:
        seen.update(nice=os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
                    thread=threading.current_thread().name, runtime=rt, pending=trigger.take_pending(
                        RunStore(es.resolved_runs_dir(settings.data_dir))))
        return []

    monkeypatch.setattr(trigger, "drain", drain)
    own_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    started = trigger.on_ingest_change({"changed": ["configuration/tls.md"]}, runtime.settings,
                                       runtime=runtime, eval_settings=eval_settings)
    assert started is not None
    started.join(timeout=30)
    assert seen["thread"] == "docent-eval" and seen["runtime"] is runtime
    assert seen["nice"] == min(own_nice + trigger.EVAL_NICE, 19)
    assert seen["pending"]["changed"] == ["configuration/tls.md"]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own_nice  # the server's threads keep theirs
