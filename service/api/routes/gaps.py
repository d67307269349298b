"""The gap report for doc writers: GET /v1/console/gaps (JSON, charts), /v1/console/gaps.csv, and a re-check."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from service.api.deps import AdminDep, RuntimeDep, StaffDep
from service.gaps import gap_report
from service.gaps_recheck import recheck_open_groups
from service.gaps_svg import charts as draw

router = APIRouter(prefix="/v1/console", tags=["console"])


@router.get("/gaps")
def gaps(caller: StaffDep, runtime: RuntimeDep, charts: Annotated[bool, Query()] = False,
         limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """Unanswered, thumbs-down and handed-off questions grouped by meaning, biggest first; per-page
    citation counts; the deflection rate per day; the top questions. ``charts=true`` adds SVG charts."""
    report = gap_report(runtime.conversations.engine, runtime.embedder, runtime.settings.gaps,
                        visible_to=caller.visible_to, max_groups=limit)
    if charts:
        report["charts"] = draw(report)
    return report


def _cell(value: object) -> str:
    # Questions are customers' text: a cell starting with = + - @ would be a formula in a spreadsheet.
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get("/gaps.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "One row per gap group."}})
def gaps_csv(caller: StaffDep, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=500)] = 500) -> Response:
    """The gap groups as CSV: label, status, size by kind, counts per ISO week, pages that fell short."""
    report = gap_report(runtime.conversations.engine, runtime.embedder, runtime.settings.gaps,
                        visible_to=caller.visible_to, max_groups=limit)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "label", "status", "closed_at", "size", "abstained", "thumbs_down", "handoff",
                     *report["weeks"], "pages_retrieved", "example_conversation_id"])
    for g in report["groups"]:
        writer.writerow([_cell(v) for v in (
            g["id"], g["label"], g["status"], g["closed_at"] or "", g["size"], *g["kinds"].values(),
            *(t["count"] for t in g["trend"]), " ".join(p["doc_path"] for p in g["pages"]),
            g["example"]["conversation_id"])])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="docent-gaps.csv"'})


@router.post("/gaps/recheck")
async def recheck(caller: AdminDep, runtime: RuntimeDep,
                  limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict[str, Any]:
    """Re-ask the biggest open groups' questions now (as after a docs change); answered ones close."""
    return {"rechecked": await recheck_open_groups(runtime, limit=limit)}
