"""Runs each named source on its schedule: hosted by the server in embedded mode (as the docs
watcher is) and by ``docent ingest --watch`` (the worker) with QDRANT_URL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from docent.embedder import Embedder
from docent.errors import DocentError
from docent.index import IndexStore
from docent.settings import Settings, SourceSettings
from ingest.pipeline import IngestSummary
from ingest.sources.state import SyncState
from ingest.sources.sync import combine, find_source, load_state, sync_source

log = logging.getLogger(__name__)


def next_sync(source: SourceSettings, state: SyncState) -> float | None:
    """When the scheduler syncs ``source`` next (unix time); None for folders (synced on change),
    on-demand sources and sources never synced (due now)."""
    if source.kind == "folder" or source.schedule_s <= 0 or state.last_sync is None:
        return None
    return state.last_sync + source.schedule_s


class Scheduler:
    """Syncs sources when due; one sync at a time (``run_lock``, as the docs Watcher's)."""

    def __init__(self, settings: Settings, store: IndexStore, embedder: Embedder,
                 on_change: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.on_change = on_change
        self.stop_event = threading.Event()
        self.run_lock = threading.Lock()
        self._wake = threading.Event()  # a watched folder changed, or stop
        self._woken: set[str] = set()
        self._woken_lock = threading.Lock()

    def sync(self, name: str, *, full: bool = False) -> tuple[SyncState, IngestSummary | None]:
        """Sync one source now."""
        source = find_source(self.settings, name)
        with self.run_lock:
            return sync_source(self.settings, source, self.store, self.embedder, full=full, on_change=self.on_change)

    def ingest_now(self, *, rebuild: bool = False) -> IngestSummary:
        """Sync every source now (the admin ingest API); a failing source does not stop the others."""
        if rebuild:  # one new collection with the docs folder and every source, from disk
            from ingest.sources.rebuild import rebuild as rebuild_all

            with self.run_lock:
                return rebuild_all(self.settings, self.store, self.embedder, progress=False,
                                   on_change=self.on_change)
        summaries = []
        for source in self.settings.sources:
            try:
                summary = self.sync(source.name)[1]
            except Exception:
                continue  # logged and recorded in the source's state by sync_source
            if summary is not None:
                summaries.append(summary)
        return combine(summaries)

    def due(self) -> dict[str, float]:
        """When each scheduled source is next due (monotonic seconds), from its last sync.
        Folders are synced at start (as the docs watcher ingests first) and then on change."""
        now_wall, now = time.time(), time.monotonic()
        out = {}
        for source in self.settings.sources:
            if source.kind == "folder":
                out[source.name] = now
                continue
            if source.schedule_s <= 0:
                continue  # on demand only
            at = next_sync(source, load_state(self.settings, source))
            out[source.name] = now if at is None else now + max(0.0, at - now_wall)  # never synced: now
        return out

    def loop(self) -> None:
        """Block, syncing each source when it is due or its folder changed, until ``stop``."""
        due = self.due()
        self._watch_folders()
        while not self.stop_event.is_set():
            with self._woken_lock:
                woken, self._woken = self._woken, set()
            self._wake.clear()
            now = time.monotonic()
            ready = [*woken, *(name for name, at in due.items() if at <= now)]
            for name in dict.fromkeys(ready):
                if self.stop_event.is_set():
                    return
                self._run(name)
                schedule = find_source(self.settings, name).schedule_s
                due[name] = time.monotonic() + schedule if schedule > 0 else float("inf")
            if not ready:
                self._wake.wait(min(60.0, max(0.05, min(due.values(), default=now + 60) - now)))

    def _run(self, name: str) -> None:
        try:
            state, _ = self.sync(name)
            log.info("source %s synced: %d added, %d changed, %d deleted, %d failed", name, state.added,
                     state.changed, state.deleted, state.failed)
        except DocentError as exc:  # a configuration problem (a missing folder, a failed clone): its message
            log.error("source %s: sync failed: %s; retrying at its next turn", name, exc)
        except Exception:  # a bad source must not stop the others
            log.exception("source %s: sync failed; retrying at its next turn", name)

    def _watch_folders(self) -> None:
        """A thread per folder source that wakes the loop when its files change."""
        from pathlib import Path

        from watchfiles import watch

        def watching(name: str, folder: Path) -> None:
            try:
                for _changes in watch(folder, stop_event=self.stop_event, debounce=400, rust_timeout=1000):
                    with self._woken_lock:
                        self._woken.add(name)
                    self._wake.set()
            except Exception:  # a folder that vanished: its schedule still runs
                log.exception("source %s: watching %s stopped", name, folder)

        for source in self.settings.sources:
            folder = Path(source.location).expanduser()
            if source.kind == "folder" and folder.is_dir():
                threading.Thread(target=watching, args=(source.name, folder), name=f"docent-watch-{source.name}",
                                 daemon=True).start()

    def start_thread(self, *, ingest_first: bool = True) -> threading.Thread:
        """Run ``loop`` on a daemon thread (``ingest_first`` is accepted for the Watcher's interface)."""
        thread = threading.Thread(target=self.loop, name="docent-sources", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()
