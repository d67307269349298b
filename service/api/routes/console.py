"""The staff console: GET /console, and staff-only JSON under /v1/console.

Everything under /v1/console needs a staff key (``X-API-Key``); public and widget
callers get 401 and never see retrieval details. Non-admin staff see public and
widget conversations and their own, never another key's (those may quote docs of
groups they lack), and retrieved chunks only from docs their key may read.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from ingest.injection import read_flags
from service.api.deps import Caller, RuntimeDep, StaffDep
from service.api.routes.pages import CSP, fill, page
from service.conversations import conversations, feedback, messages
from service.docs_render import find_doc, render_page

router = APIRouter(tags=["console"])
_SCAN = 5000  # how many recent messages the abstention ranking reads


def _visible(caller: Caller, scope: str) -> bool:
    return caller.admin or not scope.startswith("staff:") or scope == caller.scope


def _scope_filter(caller: Caller) -> Any:
    if caller.admin:
        return True
    return ~conversations.c.scope.startswith("staff:") | (conversations.c.scope == caller.scope)


# The evaluation report is shown in a sandboxed srcdoc frame, which inherits this policy:
# its inline styles must apply. Scripts stay 'self' only (the page holds a staff key), so
# the report's sort script is /static/eval-report.js (eval.report_html.for_console).
CONSOLE_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@router.get("/console", include_in_schema=False)
def console_page() -> HTMLResponse:
    """The console's single page; it asks for a staff key before showing anything."""
    return page(fill("console.html"), CONSOLE_CSP)


@router.get("/v1/console/me")
def me(caller: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Who the key belongs to: the console's sign-in check."""
    name = caller.scope.removeprefix("staff:")
    key = next((k for k in runtime.settings.auth.staff_keys if k.name == name), None)
    return {"name": name, "admin": caller.admin, "groups": key.groups if key else []}


@router.get("/v1/console/conversations")
def recent_conversations(caller: StaffDep, runtime: RuntimeDep,
                         limit: Annotated[int, Query(ge=1, le=200)] = 30) -> dict[str, Any]:
    """Recent conversations with their first question, size, abstentions and negative feedback."""
    with runtime.conversations.engine.connect() as conn:
        convs = conn.execute(select(conversations).where(_scope_filter(caller))
                             .order_by(conversations.c.created_at.desc()).limit(limit)).all()
        ids = [c.id for c in convs]
        rows = conn.execute(select(messages.c.conversation_id, messages.c.role, messages.c.content, messages.c.meta)
                            .where(messages.c.conversation_id.in_(ids)).order_by(messages.c.id)).all()
        negative: dict[str, int] = dict(conn.execute(select(feedback.c.conversation_id, func.count())
                                     .where(feedback.c.conversation_id.in_(ids), feedback.c.rating < 0)
                                     .group_by(feedback.c.conversation_id)).all())
    out = []
    for conv in convs:
        turns = [r for r in rows if r.conversation_id == conv.id]
        first = next((r.content for r in turns if r.role == "user"), "")
        abstained = sum(1 for r in turns if r.role == "assistant" and not (r.meta or {}).get("answerable", True))
        out.append({"id": conv.id, "scope": conv.scope, "created_at": conv.created_at, "first_question": first[:300],
                    "messages": len(turns), "abstained": abstained, "negative_feedback": negative.get(conv.id, 0)})
    return {"conversations": out}


def _retrieved(runtime: Any, caller: Caller, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored retrieval of one answer, with titles from the index; cited ones marked."""
    hits = list(meta.get("retrieved") or [])
    cited = {c.get("chunk_id"): c.get("marker") for c in meta.get("citations") or []}
    index = runtime.store.open_active()
    payloads = index.payloads([h["chunk_id"] for h in hits]) if index is not None and hits else {}
    out = []
    for rank, hit in enumerate(hits, start=1):
        p = payloads.get(hit["chunk_id"]) or {}
        readable = bool(p) and caller.access.allows(str(p.get("visibility")), p.get("groups") or [])
        out.append({"rank": rank, **hit, "cited_as": cited.get(hit["chunk_id"]),
                    "title": p.get("title") if readable else None,
                    "heading_path": p.get("heading_path") if readable else None,
                    "url": p.get("url") if readable else None, "visibility": p.get("visibility"),
                    "text": str(p.get("text", ""))[:400] if readable else None,
                    "status": "ok" if readable else ("gone" if not p else "restricted")})
    return out


@router.get("/v1/console/conversations/{conversation_id}")
def conversation_detail(conversation_id: str, caller: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Every turn of one conversation and, per answer, why: query rewrite, retrieval, citations, model."""
    if "\x00" in conversation_id or len(conversation_id) > 64:
        raise HTTPException(404, "Unknown conversation.")  # no such id, and PostgreSQL would refuse the query
    with runtime.conversations.engine.connect() as conn:
        conv = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
        if conv is None or not _visible(caller, conv.scope):
            raise HTTPException(404, "Unknown conversation.")
        rows = conn.execute(select(messages).where(messages.c.conversation_id == conversation_id)
                            .order_by(messages.c.id)).all()
        votes = conn.execute(select(feedback.c.message_id, feedback.c.rating, feedback.c.comment)
                             .where(feedback.c.conversation_id == conversation_id)).all()
    turns = []
    for row in rows:
        turn: dict[str, Any] = {"id": row.id, "role": row.role, "content": row.content, "created_at": row.created_at}
        if row.role == "assistant":
            meta = dict(row.meta or {})
            timings = meta.get("timings_ms") or {}
            turn.update({k: meta.get(k) for k in ("answerable", "abstain_reason", "model", "rewritten_query",
                                                  "citations", "timings_ms")})
            turn["latency_ms"] = round(sum(float(v) for v in timings.values()), 1)
            turn["retrieved"] = _retrieved(runtime, caller, meta)
            turn["feedback"] = [{"rating": v.rating, "comment": v.comment} for v in votes if v.message_id == row.id]
        turns.append(turn)
    return {"id": conv.id, "scope": conv.scope, "created_at": conv.created_at, "messages": turns}


@router.get("/v1/console/feedback")
def recent_feedback(caller: StaffDep, runtime: RuntimeDep, rating: Annotated[int | None, Query(ge=-1, le=1)] = -1,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Recent feedback (thumbs down by default) with the question and answer it was about."""
    items = runtime.conversations.recent_feedback(rating=rating, limit=limit)
    with runtime.conversations.engine.connect() as conn:
        scopes = dict(conn.execute(select(conversations.c.id, conversations.c.scope).where(
            conversations.c.id.in_({i["conversation_id"] for i in items}))).all())
    out = []
    for item in items:
        if not _visible(caller, scopes.get(item["conversation_id"], "staff:?")):
            continue
        snap = item.get("snapshot") or {}
        meta = snap.get("meta") or {}
        out.append({"id": item["id"], "conversation_id": item["conversation_id"], "message_id": item["message_id"],
                    "rating": item["rating"], "comment": item["comment"], "created_at": item["created_at"],
                    "question": snap.get("question"), "answer": snap.get("answer"), "model": meta.get("model"),
                    "answerable": meta.get("answerable"),
                    "citations": [{"marker": c.get("marker"), "title": c.get("title"), "url": c.get("url")}
                                  for c in meta.get("citations") or []]})
    return {"feedback": out}


def normalize_question(text: str) -> str:
    """Questions that differ only in case, spacing or end punctuation count as one."""
    return re.sub(r"\s+", " ", text).strip().rstrip("?!. ").lower()


@router.get("/v1/console/abstentions")
def top_abstentions(caller: StaffDep, runtime: RuntimeDep,
                    limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """The questions the docs could not answer, most frequent first: the doc writers' to-do list.

    Answers withheld because the model was down are not counted: that is no gap in the docs.
    """
    with runtime.conversations.engine.connect() as conn:
        rows = conn.execute(
            select(messages.c.conversation_id, messages.c.role, messages.c.content, messages.c.meta,
                   messages.c.created_at)
            .join(conversations, conversations.c.id == messages.c.conversation_id).where(_scope_filter(caller))
            .order_by(messages.c.id.desc()).limit(_SCAN)).all()
    last_question: dict[str, str] = {}
    counts: Counter[str] = Counter()
    phrasings: dict[str, Counter[str]] = {}
    example: dict[str, dict[str, Any]] = {}
    for row in reversed(rows):
        if row.role == "user":
            last_question[row.conversation_id] = row.content
            continue
        meta = row.meta or {}
        question = last_question.get(row.conversation_id)
        if question is None or meta.get("answerable", True) or meta.get("abstain_reason") == "model_unavailable":
            continue
        key = normalize_question(question)
        counts[key] += 1
        phrasings.setdefault(key, Counter())[question.strip()] += 1
        example[key] = {"last_asked": row.created_at, "reason": meta.get("abstain_reason"),
                        "conversation_id": row.conversation_id}
    ranked = sorted(counts, key=lambda k: (-counts[k], -example[k]["last_asked"]))[:limit]
    # Shown in its most common wording; ties go to the wording seen first.
    return {"abstentions": [{"count": counts[k], "question": phrasings[k].most_common(1)[0][0][:300], **example[k]}
                            for k in ranked], "scanned_messages": len(rows)}


@router.get("/v1/console/flags")
def injection_flags(caller: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Docs whose text looks like instructions to the model (possible prompt injection),
    as the last ingest recorded them; only docs this key may read."""
    flagged = [r for r in read_flags(runtime.settings.data_dir)
               if caller.access.allows(str(r.get("visibility")), list(r.get("groups") or []))]
    return {"flagged": flagged}


@router.get("/v1/console/docs/{path:path}")
def staff_doc(path: str, caller: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Any doc the key may read (internal included), rendered, for the console's source viewer."""
    doc = find_doc(runtime.settings.docs_dir, path, runtime.visibility)
    if doc is None or not caller.access.allows(doc.visibility, list(doc.groups)):
        raise HTTPException(404, "No page this key may read at this address.")
    return {"title": doc.title, "path": doc.path, "visibility": doc.visibility, "groups": list(doc.groups),
            "html": render_page(doc).html}
