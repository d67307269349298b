"""What a handoff ticket carries, built from one stored conversation.

The transcript, the question that triggered the handoff, the pages Docent looked at, a
link to the conversation in the staff console, and the page the customer was on. Pages
are re-read from the index and kept only when the conversation's own access allows them:
a public (or widget) conversation lists public pages only, whoever hands it off, and a
page whose payload is gone is left out (its visibility can no longer be checked).
"""

from __future__ import annotations

from typing import Any

from docent.index.base import IndexStore
from docent.schema import Access
from service.conversation_queries import ConversationDetail

MAX_SOURCES = 10
MAX_TURN_CHARS = 4000


def _absolute(url: str, base: str) -> str:
    # Docent's own /docs links mean nothing inside a helpdesk: make them absolute where we can.
    return base.rstrip("/") + url if url.startswith("/") and base else url


def _sources(conv: ConversationDetail, store: IndexStore, access: Access, base: str) -> list[dict[str, Any]]:
    ids: list[str] = []
    for turn in conv.turns:
        for hit in turn.meta.get("retrieved") or []:
            if hit.get("chunk_id") and hit["chunk_id"] not in ids:
                ids.append(str(hit["chunk_id"]))
    index = store.open_active() if ids else None
    payloads = index.payloads(ids) if index is not None else {}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for chunk_id in ids:
        p = payloads.get(chunk_id)
        if not p or not access.allows(str(p.get("visibility")), list(p.get("groups") or [])):
            continue  # gone, or not for this conversation's audience: fail closed
        url = str(p.get("url") or "")
        if url in seen:
            continue
        seen.add(url)
        heading = [str(h) for h in p.get("heading_path") or []]
        out.append({"title": str(p.get("title") or ""), "section": " > ".join(heading[1:]),
                    "url": _absolute(url, base), "doc_path": str(p.get("doc_path") or "")})
        if len(out) == MAX_SOURCES:
            break
    return out


def build_ticket(conv: ConversationDetail, *, access: Access, store: IndexStore, email: str,
                 message: str | None, page_url: str | None, console_base_url: str) -> dict[str, Any]:
    """The ticket for ``conv``; ``access`` is the conversation's audience (public for public conversations)."""
    transcript = [{"role": t.role, "content": t.content[:MAX_TURN_CHARS]} for t in conv.turns]
    question = next((t.content for t in reversed(conv.turns) if t.role == "user"), "")[:MAX_TURN_CHARS]
    base = console_base_url.rstrip("/")
    return {
        "subject": "Docent handoff: " + (" ".join(question.split())[:90] or "a question"),
        "email": email, "message": message or None, "page_url": page_url or None,
        "question": question, "conversation_id": conv.id,
        "audience": "public" if access.visibilities == Access.public().visibilities else "staff",
        "transcript": transcript,
        "sources": _sources(conv, store, access, base),
        "console_url": f"{base}/console#conversation={conv.id}",
    }
