"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from docent.errors import DocentError
from service.api.deps import RuntimeDep
from service.retrieval import Retriever

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def index_problem(retriever: Retriever) -> str | None:
    """Why the index cannot serve answers (a safe message), or None when it can."""
    try:
        retriever.searchable_index()
    except DocentError as exc:
        return str(exc)
    return None


@router.get("/readyz", summary="Readiness: the index is reachable and a model is configured.",
            responses={503: {"description": "Not ready; `checks` says why. Retry-After is set."}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    problem = await asyncio.to_thread(index_problem, runtime.retriever)
    model = runtime.settings.resolved_llm().model
    checks = {"index": problem or "ok", "model": model or "missing"}
    ready = problem is None and bool(model)
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503, headers=None if ready else {"Retry-After": "5"})
