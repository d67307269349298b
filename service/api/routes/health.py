"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from docent.errors import DocentError
from service.api.deps import RuntimeDep
from service.retrieval import Retriever
from service.shared_state import SharedState

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


def redis_problem(shared: SharedState | None) -> str | None:
    """What a Redis outage means for callers (a safe message), or None when it answers or is not used."""
    problem = shared.problem() if shared is not None else None
    if problem is None:
        return None
    return (f"unreachable ({problem}): requests without an API key get 429, staff keys are not rate "
            "limited, answers are not cached")


@router.get("/readyz", summary="Readiness: the index is reachable and a model is configured.",
            responses={503: {"description": "Not ready; `checks` says why. Retry-After is set."}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """503 while the index or the model is missing. A Redis outage is reported, not fatal.

    Redis is shared by every worker and replica, so a 503 for it would take all of them
    out of the load balancer at once, cutting staff callers and health checks too, and no
    replica would do better; instead ``checks.redis`` and ``warnings`` say what is degraded.
    """
    problem = await asyncio.to_thread(index_problem, runtime.retriever)
    model = runtime.settings.resolved_llm().model
    checks = {"index": problem or "ok", "model": model or "missing"}
    body: dict[str, object] = {"checks": checks}
    shared = runtime.shared_state
    if shared is not None:
        redis = await asyncio.to_thread(redis_problem, shared)
        checks["redis"] = "ok" if redis is None else redis
        if redis is not None:
            body["warnings"] = [f"redis {redis}"]
    ready = problem is None and bool(model)
    return JSONResponse({"status": "ready" if ready else "not ready", **body},
                        status_code=200 if ready else 503, headers=None if ready else {"Retry-After": "5"})
