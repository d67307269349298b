"""The staff console: GET /console, and staff-only JSON under /v1/console.

Everything under /v1/console needs a staff key (``X-API-Key``); public and widget
callers get 401 and never see retrieval details. Non-admin staff see public and
widget conversations and their own, never another key's (those may quote docs of
groups they lack), and retrieved chunks only from docs their key may read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from docent.errors import NotFoundError, UnavailableError
from ingest.injection import read_flags
from service.answer_cache import AnswerCache
from service.answer_cache_entry import CacheEntry
from service.api.deps import Caller, RuntimeDep, StaffDep
from service.api.html import CSP, fill, page
from service.docs_render import render_page
from service.source_pages import find_page

router = APIRouter(tags=["console"])
_SCAN = 5000  # how many recent messages the abstention ranking reads


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
    convs = runtime.conversations.list_conversations(visible_to=caller.visible_to, limit=limit)
    return {"conversations": [
        {"id": c.id, "scope": c.scope, "created_at": c.created_at, "first_question": c.first_question[:300],
         "messages": c.messages, "abstained": c.abstained, "negative_feedback": c.negative_feedback}
        for c in convs]}


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
        raise NotFoundError("Unknown conversation.")  # no such id, and PostgreSQL would refuse the query
    conv = runtime.conversations.conversation_detail(conversation_id)
    if conv is None or not caller.sees(conv.scope):
        raise NotFoundError("Unknown conversation.")
    turns = []
    for row in conv.turns:
        turn: dict[str, Any] = {"id": row.id, "role": row.role, "content": row.content, "created_at": row.created_at}
        if row.role == "assistant":
            meta = row.meta
            timings = meta.get("timings_ms") or {}
            turn.update({k: meta.get(k) for k in ("answerable", "abstain_reason", "model", "rewritten_query",
                                                  "citations", "timings_ms", "unsupported_sentences",
                                                  "grounding", "answer_mode")})
            turn["latency_ms"] = round(sum(float(v) for v in timings.values()), 1)
            turn["retrieved"] = _retrieved(runtime, caller, meta)
            turn["feedback"] = [{"rating": v.rating, "comment": v.comment} for v in row.feedback]
        turns.append(turn)
    return {"id": conv.id, "scope": conv.scope, "created_at": conv.created_at, "messages": turns}


@router.get("/v1/console/feedback")
def recent_feedback(caller: StaffDep, runtime: RuntimeDep, rating: Annotated[int | None, Query(ge=-1, le=1)] = -1,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Recent feedback (thumbs down by default) with the question and answer it was about."""
    out = []
    for item in runtime.conversations.recent_feedback_entries(rating=rating, limit=limit):
        # Feedback whose conversation is gone is shown to admins only.
        if not caller.sees(item.scope if item.scope is not None else "staff:?"):
            continue
        meta = item.meta
        out.append({"id": item.id, "conversation_id": item.conversation_id, "message_id": item.message_id,
                    "rating": item.rating, "comment": item.comment, "created_at": item.created_at,
                    "question": item.question, "answer": item.answer, "model": meta.get("model"),
                    "answerable": meta.get("answerable"),
                    "citations": [{"marker": c.get("marker"), "title": c.get("title"), "url": c.get("url")}
                                  for c in meta.get("citations") or []]})
    return {"feedback": out}


@router.get("/v1/console/abstentions")
def top_abstentions(caller: StaffDep, runtime: RuntimeDep,
                    limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
    """The questions the docs could not answer, most frequent first: the doc writers' to-do list.

    Answers withheld because the model was down are not counted: that is no gap in the docs.
    """
    report = runtime.conversations.unanswered_questions(visible_to=caller.visible_to, limit=limit, scan=_SCAN)
    # Shown in its most common wording; ties go to the wording seen first.
    return {"abstentions": [{"count": q.count, "question": q.question[:300], "last_asked": q.last_asked,
                             "reason": q.reason, "conversation_id": q.conversation_id} for q in report.questions],
            "scanned_messages": report.scanned_messages}


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
    doc = find_page(runtime.settings, path, runtime.visibility)
    if doc is None or not caller.access.allows(doc.visibility, list(doc.groups)):
        raise NotFoundError("No page this key may read at this address.")
    return {"title": doc.title, "path": doc.path, "visibility": doc.visibility, "groups": list(doc.groups),
            "html": render_page(doc).html}


def _cache(runtime: Any) -> AnswerCache:
    if runtime.answer_cache is None:
        raise NotFoundError("The answer cache is off (DOCENT_CACHE__ENABLED=false).")
    cache: AnswerCache = runtime.answer_cache
    return cache


def _readable(caller: Caller, entry: CacheEntry) -> bool:
    """Staff see an entry only when they may read every source it was built from."""
    return all(caller.access.allows(str(h["payload"].get("visibility")), list(h["payload"].get("groups") or []))
               for h in entry.answer.get("hits") or [])


def _cached_entries(cache: AnswerCache, caller: Caller, limit: int) -> list[CacheEntry]:
    try:
        return [e for e in cache.entries(limit) if _readable(caller, e)]
    except Exception as exc:  # Redis down: say so, not a 500
        raise UnavailableError(f"The answer cache ({cache.name}) is unreachable; try again shortly.") from exc


@router.get("/v1/console/cache")
def cache_entries(caller: StaffDep, runtime: RuntimeDep,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The answer cache, most recently used first: question, scope, model, sources' docs and hits
    (only entries whose sources this key may read)."""
    cache = _cache(runtime)
    return {"backend": cache.name, "min_similarity": cache.settings.min_similarity,
            "entries": [e.summary() for e in _cached_entries(cache, caller, limit)]}


@router.delete("/v1/console/cache/{entry_id}")
def purge_cache_entry(entry_id: str, caller: StaffDep, runtime: RuntimeDep) -> dict[str, int]:
    """Remove one cached answer: the next such question is answered afresh."""
    cache = _cache(runtime)
    try:
        entry = cache.get(entry_id) if entry_id.isalnum() and len(entry_id) <= 64 else None
    except Exception as exc:
        raise UnavailableError(f"The answer cache ({cache.name}) is unreachable; try again shortly.") from exc
    if entry is None or not _readable(caller, entry):
        raise NotFoundError("No cached answer with this id.")
    return {"purged": int(cache.evict(entry_id))}


@router.delete("/v1/console/cache")
def purge_cache(caller: StaffDep, runtime: RuntimeDep) -> dict[str, int]:
    """Empty the answer cache (a non-admin key: the entries it may read)."""
    cache = _cache(runtime)
    if caller.admin:
        return {"purged": cache.clear()}
    ids = [e.id for e in _cached_entries(cache, caller, cache.settings.max_entries)]
    return {"purged": cache.backend.delete(ids)}

