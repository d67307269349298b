"""Ingest runs started over the admin API: one at a time, in a background thread.

Chat keeps answering from the previous complete index while one runs (a rebuild fills a
new collection and moves the alias only when it is done).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from docent.errors import IngestBusyError


class IngestJob(BaseModel):
    job_id: str
    status: str = Field(description="running | done | failed")
    rebuild: bool
    started_at: float
    finished_at: float | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None


class IngestJobs:
    """The latest admin ingest job of this process and the thread that runs it."""

    def __init__(self, ingest: Callable[[bool], dict[str, Any]]) -> None:
        self._ingest = ingest  # rebuild -> summary JSON; Runtime.ingest, under the watcher's lock
        self._lock = threading.Lock()
        self.latest: IngestJob | None = None

    def start(self, *, rebuild: bool) -> IngestJob:
        """Start a job, or raise IngestBusyError while one runs."""
        with self._lock:
            if self.latest is not None and self.latest.status == "running":
                raise IngestBusyError(f"Ingest job {self.latest.job_id} is still running.")
            job = IngestJob(job_id=uuid.uuid4().hex[:12], status="running", rebuild=rebuild, started_at=time.time())
            self.latest = job
        threading.Thread(target=self._run, args=(job,), name="docent-admin-ingest", daemon=True).start()
        return job

    def _run(self, job: IngestJob) -> None:
        try:
            job.summary, job.status = self._ingest(job.rebuild), "done"
        except Exception as exc:  # reported on the job; the previous index keeps serving
            job.error, job.status = f"{type(exc).__name__}: {exc}"[:500], "failed"
        job.finished_at = time.time()
