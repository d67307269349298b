"""The gap report's reads of the conversation store: one pass over a recent window.

What Docent could not answer (abstentions; not answers withheld because the model was
down), answers rated thumbs-down, and handoffs, each with the question behind it and the
pages that were retrieved for it; plus what the window says overall: citations per page,
the deflection rate per day, and the most asked questions. ``visible_to`` is the console's
rule: a staff key sees public and widget conversations and its own; None sees all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.engine import Connection

from service.conversation_queries import normalize_question
from service.conversation_tables import conversations, feedback, handoffs, messages

SCAN_MESSAGES = 50_000  # the newest messages read per report, whatever the window


@dataclass(frozen=True)
class GapItem:
    """One question that was not served: abstained, thumbs-down or handed off."""

    kind: str  # "abstained", "thumbs_down" or "handoff"
    question: str
    conversation_id: str
    created_at: float
    pages: tuple[str, ...]  # doc paths retrieved (or cited) for it, best first


@dataclass
class Window:
    """Everything the report needs from one window of the store."""

    items: list[GapItem] = field(default_factory=list)
    citations: Counter[str] = field(default_factory=Counter)  # doc path -> answers citing it
    questions: Counter[str] = field(default_factory=Counter)  # normalised question -> times asked
    wordings: dict[str, Counter[str]] = field(default_factory=dict)
    # conversation -> (day, last answer answered, thumbs-down, handed off)
    conversations: dict[str, list[Any]] = field(default_factory=dict)


def _visible(visible_to: str | None) -> ColumnElement[bool]:
    if visible_to is None:
        return true()
    return or_(~conversations.c.scope.startswith("staff:"), conversations.c.scope == visible_to)


def day_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _pages(meta: dict[str, Any]) -> tuple[str, ...]:
    seen: list[str] = []
    for hit in list(meta.get("retrieved") or []) + list(meta.get("citations") or []):
        path = hit.get("doc_path") if isinstance(hit, dict) else None
        if path and path not in seen:
            seen.append(str(path))
    return tuple(seen)


def read_window(conn: Connection, *, since: float, visible_to: str | None) -> Window:
    """The window's gap items and totals (newest ``SCAN_MESSAGES`` messages at most)."""
    out = Window()
    rows = conn.execute(
        select(messages.c.conversation_id, messages.c.role, messages.c.content, messages.c.meta,
               messages.c.created_at, conversations.c.created_at.label("conv_at"))
        .join(conversations, conversations.c.id == messages.c.conversation_id)
        .where(_visible(visible_to), messages.c.created_at >= since)
        .order_by(messages.c.id.desc()).limit(SCAN_MESSAGES)).all()
    last_question: dict[str, str] = {}
    for row in reversed(rows):
        cid = row.conversation_id
        conv = out.conversations.setdefault(cid, [day_of(row.conv_at), False, False, False])
        if row.role == "user":
            last_question[cid] = row.content
            key = normalize_question(row.content)
            out.questions[key] += 1
            out.wordings.setdefault(key, Counter())[row.content.strip()] += 1
            continue
        meta = row.meta or {}
        answered = bool(meta.get("answerable", True))
        conv[1] = answered
        if answered:
            out.citations.update({str(c["doc_path"]) for c in meta.get("citations") or [] if c.get("doc_path")})
        elif meta.get("abstain_reason") != "model_unavailable" and cid in last_question:
            out.items.append(GapItem("abstained", last_question[cid], cid, row.created_at, _pages(meta)))
    for fb in conn.execute(
            select(feedback.c.conversation_id, feedback.c.snapshot, feedback.c.created_at)
            .join(conversations, conversations.c.id == feedback.c.conversation_id)
            .where(_visible(visible_to), feedback.c.rating < 0, feedback.c.created_at >= since)):
        snap = fb.snapshot or {}
        if fb.conversation_id in out.conversations:
            out.conversations[fb.conversation_id][2] = True
        if snap.get("question"):
            out.items.append(GapItem("thumbs_down", str(snap["question"]), fb.conversation_id, fb.created_at,
                                     _pages(dict(snap.get("meta") or {}))))
    for h in conn.execute(
            select(handoffs.c.conversation_id, handoffs.c.payload, handoffs.c.created_at)
            .join(conversations, conversations.c.id == handoffs.c.conversation_id)
            .where(_visible(visible_to), handoffs.c.created_at >= since)):
        payload = h.payload or {}
        if h.conversation_id in out.conversations:
            out.conversations[h.conversation_id][3] = True
        if payload.get("question"):
            pages = tuple(str(s["doc_path"]) for s in payload.get("sources") or [] if s.get("doc_path"))
            out.items.append(GapItem("handoff", str(payload["question"]), h.conversation_id, h.created_at, pages))
    return out


def transcript(conn: Connection, conversation_id: str, limit: int = 8) -> list[dict[str, str]]:
    """The first ``limit`` messages of one conversation, for a group's example."""
    rows = conn.execute(select(messages.c.role, messages.c.content).where(messages.c.conversation_id == conversation_id)
                        .order_by(messages.c.id).limit(limit)).all()
    return [{"role": r.role, "content": r.content[:1000]} for r in rows]


def deflection_by_day(window: Window) -> list[dict[str, Any]]:
    """Per day (of the conversation's start): conversations, deflected ones (last answer answered,
    no thumbs-down, no handoff) and their rate, oldest first."""
    days: dict[str, list[int]] = {}
    for day, answered, down, handed in window.conversations.values():
        tally = days.setdefault(day, [0, 0])
        tally[0] += 1
        tally[1] += int(answered and not down and not handed)
    return [{"day": d, "conversations": n, "deflected": k, "rate": round(k / n, 4)}
            for d, (n, k) in sorted(days.items())]


def top_questions(window: Window, limit: int = 20) -> list[dict[str, Any]]:
    """The most asked questions (wordings that differ in case or punctuation count as one)."""
    return [{"question": window.wordings[k].most_common(1)[0][0][:300], "count": n}
            for k, n in window.questions.most_common(limit)]
