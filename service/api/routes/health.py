"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the index is reachable and a model is configured.",
            responses={503: {"description": "Not ready; see `checks`."}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    index_ok = await asyncio.to_thread(runtime.store.healthy)
    checks = {"index": "ok" if index_ok else "unavailable",
              "model": runtime.settings.resolved_llm().model or "missing"}
    ready = index_ok and bool(runtime.settings.resolved_llm().model)
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503, headers=None if ready else {"Retry-After": "5"})
