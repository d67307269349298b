"""Syncs of one named source started over the admin API (``POST /v1/admin/sources/{name}/sync``),
and what ``GET /v1/admin/sources`` shows of each source.

A sync runs in a background thread through ``Runtime.sync_source``: the hosted scheduler's own
``sync`` when the server hosts one (embedded mode), otherwise the same ``sync_source`` call over
the server's store. While a sync of a source runs in this process the API refuses another (409);
chat keeps answering meanwhile.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from docent.errors import BusyError, NotFoundError
from docent.settings import Settings, SourceSettings
from ingest.sources.schedule import next_sync as next_sync  # re-exported: the admin API shows it
from ingest.sources.state import SyncState, redacted
from ingest.sources.sync import load_state, source_lock

_USERINFO = re.compile(r"(?<=://)[^/@\s]{1,512}@")  # a user:token@ anywhere in a text (a URL in an error)
shown_location = redacted  # the one rule for showing a source's location (ingest.sources.state)


def shown_error(error: str) -> str:
    """An error line without any ``user:token@`` a URL in it may carry."""
    return _USERINFO.sub("", error)


@dataclass(slots=True)
class SourceSync:
    """One sync started over the admin API."""

    name: str
    status: str  # running | done | failed
    started_at: float
    finished_at: float | None = None
    error: str | None = None


class SourceSyncs:
    """The latest API-started sync of each source in this process, and the threads that run them."""

    def __init__(self, settings: Settings, sync: Callable[[str], object]) -> None:
        self._settings = settings
        self._sync = sync  # name -> None; Runtime.sync_source, the scheduler's code path
        self._lock = threading.Lock()
        self._latest: dict[str, SourceSync] = {}

    def source(self, name: str) -> SourceSettings:
        """The configured source called ``name``, or NotFoundError."""
        for source in self._settings.sources:
            if source.name == name:
                return source
        raise NotFoundError(f"No source named {name[:64]!r}.")

    def start(self, name: str) -> SourceSync:
        """Start syncing ``name`` in the background; NotFoundError if unknown, BusyError while one runs."""
        self.source(name)
        with self._lock:
            if self.running(name):
                raise BusyError(f"Source {name!r} is already syncing; try again when it is done.")
            job = SourceSync(name=name, status="running", started_at=time.time())
            self._latest[name] = job
        threading.Thread(target=self._run, args=(job,), name=f"docent-sync-{name}", daemon=True).start()
        return job

    def running(self, name: str) -> bool:
        """Whether a sync of ``name`` runs in this process: started over the API (perhaps still waiting
        for the scheduler's turn), or by the scheduler, the CLI or a rebuild (they hold its lock)."""
        job = self._latest.get(name)
        return (job is not None and job.status == "running") or source_lock(name).locked()

    def latest(self, name: str) -> SourceSync | None:
        """The latest sync of ``name`` started over the API in this process."""
        return self._latest.get(name)

    def state(self, source: SourceSettings) -> SyncState:
        """The source's last sync as its state file records it."""
        return load_state(self._settings, source)

    def _run(self, job: SourceSync) -> None:
        status, error = "done", None
        try:
            self._sync(job.name)
        except Exception as exc:  # recorded in the source's state too (sync_source writes it)
            status, error = "failed", shown_error(f"{type(exc).__name__}: {exc}")[:500]
        job.finished_at, job.error = time.time(), error
        job.status = status  # last: a finished job is complete when it stops being "running"
