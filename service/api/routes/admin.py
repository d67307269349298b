"""Admin-only operations: run an ingest (or a rebuild) in the server, list the API keys.

Chat keeps answering from the previous complete index while an ingest or a rebuild
runs: a rebuild fills a new collection and switches the alias only when it is done.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import AdminDep, RuntimeDep
from service.api.schemas import ErrorBody
from service.runtime import Runtime

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rebuild: bool = Field(False, description="Re-embed everything into a new collection, then switch to it.")


class IngestJob(BaseModel):
    job_id: str
    status: str = Field(description="running | done | failed")
    rebuild: bool
    started_at: float
    finished_at: float | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None


class KeyInfo(BaseModel):
    name: str
    groups: list[str]
    admin: bool
    fingerprint: str = Field(description="First 8 hex digits of the key's SHA-256, to tell keys apart.")


_jobs_lock = threading.Lock()


def _run(runtime: Runtime, job: IngestJob) -> None:
    try:
        job.summary, job.status = runtime.ingest(rebuild=job.rebuild).to_json(), "done"
    except Exception as exc:  # reported on the job; the previous index keeps serving
        job.error, job.status = f"{type(exc).__name__}: {exc}"[:500], "failed"
    job.finished_at = time.time()


@router.post("/ingest", status_code=202, response_model=IngestJob,
             responses={409: {"model": ErrorBody}, 401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
def start_ingest(body: IngestRequest, runtime: RuntimeDep, _: AdminDep) -> IngestJob:
    """Ingest the docs folder now (incremental), or rebuild the whole index; runs in the background."""
    with _jobs_lock:
        current = runtime.extras.get("ingest_job")
        if isinstance(current, IngestJob) and current.status == "running":
            raise HTTPException(409, f"Ingest job {current.job_id} is still running.")
        job = IngestJob(job_id=uuid.uuid4().hex[:12], status="running", rebuild=body.rebuild, started_at=time.time())
        runtime.extras["ingest_job"] = job
    threading.Thread(target=_run, args=(runtime, job), name="docent-admin-ingest", daemon=True).start()
    return job


@router.get("/ingest", response_model=IngestJob, responses={404: {"model": ErrorBody}})
def ingest_status(runtime: RuntimeDep, _: AdminDep) -> IngestJob:
    """The latest ingest job started through this API (this process)."""
    job = runtime.extras.get("ingest_job")
    if not isinstance(job, IngestJob):
        raise HTTPException(404, "No ingest job has been started in this process.")
    return job


@router.get("/keys", response_model=list[KeyInfo])
def keys(runtime: RuntimeDep, _: AdminDep) -> list[KeyInfo]:
    """The configured staff keys (never their hashes). Create one with `docent keys create`."""
    return [KeyInfo(name=k.name, groups=list(k.groups), admin=k.admin, fingerprint=k.sha256[:8])
            for k in runtime.settings.auth.staff_keys]
