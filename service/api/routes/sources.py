"""``GET /v1/admin/sources``: each named docs source and what its last sync did."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ingest.sources.state import redacted
from ingest.sources.sync import load_state
from service.api.deps import AdminDep, RuntimeDep
from service.api.schemas import ErrorBody

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class SourceStatus(BaseModel):
    name: str
    kind: str
    location: str = Field(description="Folder, repository or start URL (any user:password removed).")
    schedule_s: int
    last_sync: float | None = Field(description="Unix time the last sync finished; null before the first.")
    seconds: float
    added: int
    changed: int
    deleted: int
    unchanged: int
    failed: int
    errors: list[str]
    version: str = Field(description="git: the commit indexed; empty for other kinds.")


@router.get("/sources", response_model=list[SourceStatus], responses={401: {"model": ErrorBody},
                                                                      403: {"model": ErrorBody}})
def sources(runtime: RuntimeDep, _: AdminDep) -> list[SourceStatus]:
    """The configured sources (empty: the one docs folder) with their last sync's counts and errors."""
    out = []
    for source in runtime.settings.sources:
        state = load_state(runtime.settings, source)
        out.append(SourceStatus(name=source.name, kind=source.kind, location=redacted(source.location),
                                schedule_s=source.schedule_s, last_sync=state.last_sync, seconds=state.seconds,
                                added=state.added, changed=state.changed, deleted=state.deleted,
                                unchanged=state.unchanged, failed=state.failed, errors=state.errors[:50],
                                version=state.version))
    return out
