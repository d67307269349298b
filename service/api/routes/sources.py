"""``GET /v1/admin/sources``: each named docs source and what its last sync did;
``POST /v1/admin/sources/{name}/sync``: sync one now, in the background."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service.api.deps import AdminDep, RuntimeDep
from service.api.schemas import ErrorBody
from service.source_syncs import next_sync, shown_error, shown_location

router = APIRouter(prefix="/v1/admin", tags=["admin"])
_DENIED: dict[int | str, dict[str, object]] = {401: {"model": ErrorBody}, 403: {"model": ErrorBody}}


class SourceStatus(BaseModel):
    name: str
    kind: str
    location: str = Field(description="Folder, repository or start URL (no user:password, secret query values "
                                      "masked).")
    visibility: str = Field(description="Every page's access unless its front matter is stricter.")
    groups: list[str]
    schedule_s: int = Field(description="Seconds between scheduled syncs; 0: on demand only. Folders sync on change.")
    last_sync: float | None = Field(description="Unix time the last sync finished; null before the first.")
    next_sync: float | None = Field(description="When the scheduler syncs it next (last sync + schedule); null for "
                                                "folders, on-demand sources and sources never synced.")
    syncing: bool = Field(description="A sync started over this API is running.")
    seconds: float
    added: int
    changed: int
    deleted: int
    unchanged: int
    failed: int
    errors: list[str]
    version: str = Field(description="git: the commit indexed; empty for other kinds.")


class SyncStarted(BaseModel):
    name: str
    status: Literal["running"]
    started_at: float


@router.get("/sources", response_model=list[SourceStatus], responses=_DENIED)
def sources(runtime: RuntimeDep, _: AdminDep) -> list[SourceStatus]:
    """The configured sources (empty: the one docs folder) with their last sync's counts and errors."""
    syncs = runtime.source_syncs
    out = []
    for source in runtime.settings.sources:
        state = syncs.state(source)
        out.append(SourceStatus(name=source.name, kind=source.kind, location=shown_location(source.location),
                                visibility=source.visibility, groups=list(source.groups), schedule_s=source.schedule_s,
                                last_sync=state.last_sync, next_sync=next_sync(source, state),
                                syncing=syncs.running(source.name), seconds=state.seconds, added=state.added,
                                changed=state.changed, deleted=state.deleted, unchanged=state.unchanged,
                                failed=state.failed, errors=[shown_error(e) for e in state.errors[:50]],
                                version=state.version))
    return out


@router.post("/sources/{name}/sync", status_code=202, response_model=SyncStarted,
             responses={**_DENIED, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}})
def sync_now(name: str, runtime: RuntimeDep, _: AdminDep) -> SyncStarted:
    """Sync one source now, as its schedule would; runs in the background (poll ``GET /v1/admin/sources``)."""
    job = runtime.source_syncs.start(name)
    return SyncStarted(name=job.name, status="running", started_at=job.started_at)
