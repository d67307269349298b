"""Admin-only operations: run an ingest (or a rebuild) in the server, list the API keys.

Chat keeps answering from the previous complete index while an ingest or a rebuild
runs: a rebuild fills a new collection and switches the alias only when it is done.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from docent.errors import NotFoundError
from service.api.deps import AdminDep, RuntimeDep
from service.api.schemas import ErrorBody
from service.ingest_jobs import IngestJob

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rebuild: bool = Field(False, description="Re-embed everything into a new collection, then switch to it.")


class KeyInfo(BaseModel):
    name: str
    groups: list[str]
    admin: bool
    fingerprint: str = Field(description="First 8 hex digits of the key's SHA-256, to tell keys apart.")


@router.post("/ingest", status_code=202, response_model=IngestJob,
             responses={409: {"model": ErrorBody}, 401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
def start_ingest(body: IngestRequest, runtime: RuntimeDep, _: AdminDep) -> IngestJob:
    """Ingest the docs folder now (incremental), or rebuild the whole index; runs in the background."""
    return runtime.ingest_jobs.start(rebuild=body.rebuild)


@router.get("/ingest", response_model=IngestJob, responses={404: {"model": ErrorBody}})
def ingest_status(runtime: RuntimeDep, _: AdminDep) -> IngestJob:
    """The latest ingest job started through this API (this process)."""
    job = runtime.ingest_jobs.latest
    if job is None:
        raise NotFoundError("No ingest job has been started in this process.")
    return job


@router.get("/keys", response_model=list[KeyInfo])
def keys(runtime: RuntimeDep, _: AdminDep) -> list[KeyInfo]:
    """The configured staff keys (never their hashes). Create one with `docent keys create`."""
    return [KeyInfo(name=k.name, groups=list(k.groups), admin=k.admin, fingerprint=k.sha256[:8])
            for k in runtime.settings.auth.staff_keys]
