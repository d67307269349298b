"""Evaluation runs for staff: history, one run (JSON, HTML report or CSV), and starting a run.

GET  /v1/evals                 history (newest first) and whether a run is in progress
GET  /v1/evals/{id|latest}     one run; ?format=html for its report, ?format=csv
POST /v1/evals                 start a run in the background (202; 409 if one is running)
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from docent.errors import EvalBusyError, RunNotFoundError
from eval.records import RunRecord
from eval.run_store import RunStore
from eval.settings import EvalSettings
from service.api.deps import AdminDep, RuntimeDep, StaffDep
from service.api.schemas import ErrorBody
from service.runtime import Runtime

router = APIRouter(prefix="/v1/evals", tags=["evals"])
log = logging.getLogger(__name__)


class EvalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subset: Literal["smoke", "changed", "full"] = Field("smoke", description="Which golden questions to ask.")
    limit: int | None = Field(None, ge=1, le=10_000, description="At most this many questions.")


def get_eval_settings(request: Request) -> EvalSettings:
    """The app's eval settings, built once by the entry point (``entrypoints.asgi.build_app`` puts
    them on ``app.state``); an app assembled without them reads the environment once."""
    found = getattr(request.app.state, "eval_settings", None)
    if not isinstance(found, EvalSettings):
        found = request.app.state.eval_settings = EvalSettings()
    return found


EvalSettingsDep = Annotated[EvalSettings, Depends(get_eval_settings)]


def _store(runtime: Runtime, settings: EvalSettings) -> RunStore:
    return RunStore(settings.resolved_runs_dir(runtime.settings.data_dir))


def summary(record: RunRecord) -> dict[str, Any]:
    """A run without its per-question detail."""
    return {
        "id": record.id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "subset": record.subset,
        "questions": len(record.questions),
        "corpus_fingerprint": record.corpus_fingerprint,
        "models": record.models,
        "docs_changed": record.docs_changed,
        "aggregates": record.to_json()["aggregates"],
        "notes": record.notes,
    }


@router.get("", responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
def history(
    runtime: RuntimeDep, settings: EvalSettingsDep, _: StaffDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> dict[str, Any]:
    """Past runs, newest first, with their aggregates; the first is the latest."""
    store = _store(runtime, settings)
    runs = [summary(r) for r in reversed(store.history(limit))]
    return {"running": store.running(), "latest": runs[0] if runs else None, "runs": runs}


@router.get("/{run_id}", responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}})
def one_run(
    run_id: str,
    runtime: RuntimeDep,
    settings: EvalSettingsDep,
    _: StaffDep,
    format: Annotated[Literal["json", "html", "csv"], Query()] = "json",
) -> Any:  # noqa: A002
    """One run: its JSON record, its HTML report or its CSV table."""
    store = _store(runtime, settings)
    ids = store.ids()
    if run_id == "latest" and ids:
        run_id = ids[-1]
    if run_id not in ids:
        raise RunNotFoundError(f"No evaluation run {run_id!r}.")
    if format == "json":
        return store.load(run_id).to_json()
    path = store.path(run_id, ".html" if format == "html" else ".csv")
    if not path.exists():
        raise RunNotFoundError(f"Run {run_id} has no {format} file.")
    text = path.read_text(encoding="utf-8")
    if format == "csv":
        return PlainTextResponse(text, media_type="text/csv")
    # The console shows this page in a sandboxed frame under its own policy (scripts from
    # this origin only), so the sort script comes from /static, not inline.
    from eval.report_html import for_console

    return HTMLResponse(for_console(text))


@router.post("", status_code=202,
             responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 409: {"model": ErrorBody}})
def start(body: EvalRequest, runtime: RuntimeDep, settings: EvalSettingsDep, _: AdminDep) -> dict[str, Any]:
    """Start a run in the background with the server's own retriever and model."""
    from eval.suite import RunRequest, run

    if _store(runtime, settings).running():
        raise EvalBusyError("An evaluation is already running; see GET /v1/evals.")
    request = RunRequest(subset=body.subset, limit=body.limit, progress=False)

    def work() -> None:
        from eval.trigger import lower_priority

        lower_priority()  # requests keep being answered first
        try:
            run(runtime.settings, settings, request, runtime=runtime)
        except Exception:  # reported in the log; GET /v1/evals shows no new run
            log.exception("evaluation started over the API failed")

    threading.Thread(target=work, name="docent-eval-api", daemon=True).start()
    return {"status": "started", "subset": body.subset, "limit": body.limit}
