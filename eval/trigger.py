"""Evaluate after every ingest that changed something: the ingest worker's ``on_change`` hook.

``on_ingest_change(entry, settings)`` records the entry's doc changes as pending and
starts a background thread that runs the configured subset (``DOCENT_EVAL_TRIGGER``:
off, smoke or affected). One evaluation runs at a time per runs folder (a file lock,
so this holds across processes too); changes that arrive meanwhile are merged into
the pending set and evaluated by one follow-up run, never dropped. Until a first run
exists (started with ``docent eval`` or ``POST /v1/evals``) there is nothing to compare
with, so ingests trigger nothing: a fresh server's initial ingest stays cheap.

The evaluation runs in the host's process, 10 steps nicer: the ``docent ingest --watch``
worker's (trigger on by default), or ``docent serve``'s only when ``DOCENT_EVAL_TRIGGER``
is set explicitly (entrypoints/asgi.py), since it loads the judge model into that process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docent.settings import Settings
from eval.run_store import RunStore, write_atomic
from eval.settings import EvalSettings

if TYPE_CHECKING:
    from service.runtime import Runtime

log = logging.getLogger(__name__)
PENDING = ".pending.json"
KINDS = ("added", "changed", "removed")


@contextlib.contextmanager
def _pending_lock(folder: Path) -> Iterator[None]:
    with open(folder / ".pending.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def add_pending(store: RunStore, entry: dict[str, Any]) -> dict[str, list[str]]:
    """Merge ``entry``'s doc changes into the pending set; returns the merged set."""
    with _pending_lock(store.folder):
        merged = _read(store.folder / PENDING) or {k: [] for k in KINDS}
        for kind in KINDS:
            merged[kind] = sorted(set(merged.get(kind, [])) | set(entry.get(kind, [])))
        write_atomic(store.folder / PENDING, json.dumps(merged))
        return merged


def take_pending(store: RunStore) -> dict[str, list[str]] | None:
    """The pending changes (and clear them), or None when there are none."""
    with _pending_lock(store.folder):
        merged = _read(store.folder / PENDING)
        (store.folder / PENDING).unlink(missing_ok=True)
        return merged


def _read(path: Path) -> dict[str, list[str]] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def drain(settings: Settings, eval_settings: EvalSettings, runtime: Runtime | None = None) -> list[str]:
    """Run until no changes are pending (or another process is running); returns the run ids."""
    from eval.suite import RunRequest, run_with_store

    store = RunStore(eval_settings.resolved_runs_dir(settings.data_dir))
    done: list[str] = []
    while True:
        # Taking the pending set *after* the lock is held, and re-checking after release,
        # means a change recorded while a run is in flight is always picked up by someone.
        with store.exclusive() as free:
            if not free:
                return done
            changes = take_pending(store)
            if changes is None:
                return done
            subset = "smoke" if eval_settings.trigger == "smoke" else "affected"
            request = RunRequest(subset=subset, changed_docs=changes, progress=False)
            try:
                record = run_with_store(settings, eval_settings, request, store, runtime)
                done.append(record.id)
                log.info(
                    "evaluation %s after a docs change: faithfulness %s",
                    record.id,
                    record.aggregates.get("faithfulness"),
                )
            except Exception:  # an evaluation failure must never take the ingest worker down
                log.exception("evaluation after a docs change failed; its changes stay pending")
                add_pending(store, changes)
                return done


EVAL_NICE = 10  # added niceness: an evaluation yields the CPU to the rest of the process (a server)


def lower_priority() -> None:
    """Make the calling thread ``EVAL_NICE`` steps nicer: on Linux niceness is per thread, and
    the threads it starts (llama.cpp's workers for the judge) inherit it."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: run as is
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + EVAL_NICE, 19))


def _drain_niced(settings: Settings, eval_settings: EvalSettings, runtime: Runtime | None) -> list[str]:
    """``drain`` at a lower CPU priority than the rest of the process."""
    lower_priority()
    return drain(settings, eval_settings, runtime)


def on_ingest_change(
    entry: dict[str, Any],
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    eval_settings: EvalSettings | None = None,
) -> threading.Thread | None:
    """The ``Watcher.on_change`` hook: evaluate the configured subset in the background.

    Returns the started thread (tests join it), or None when triggering is off or no run
    exists yet to compare with.
    """
    eval_settings = eval_settings or EvalSettings()
    if eval_settings.trigger == "off":
        return None
    store = RunStore(eval_settings.resolved_runs_dir(settings.data_dir))
    if not store.ids():
        # Nothing to compare with yet (a fresh install's first ingest, a test's temp dir):
        # the first run is started on purpose (`docent eval`, POST /v1/evals), not by an ingest.
        log.info("docs changed, but there is no evaluation run to compare with; run `docent eval` once")
        return None
    add_pending(store, entry)
    thread = threading.Thread(
        target=_drain_niced, args=(settings, eval_settings, runtime), name="docent-eval", daemon=True
    )
    thread.start()
    return thread
