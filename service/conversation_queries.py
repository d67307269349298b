"""The staff console's reads of the conversation store, as small typed records.

``ConversationStore`` runs these on one of its connections; the console route calls the
store, never these. ``visible_to`` is the viewing staff key's scope: the key sees public
and widget conversations and its own, never another staff key's (those may quote docs of
groups it lacks). ``None`` sees every conversation (an admin key).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.engine import Connection

from service.conversation_tables import conversations, feedback, messages

_MAX_ID = 64  # longer ids name no conversation (they are 36 characters)


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation in the console's list."""

    id: str
    scope: str
    created_at: float
    first_question: str  # "" when it has none
    messages: int  # questions and answers
    abstained: int  # answers that withheld one ("answerable" false)
    negative_feedback: int  # thumbs down on its answers


@dataclass(frozen=True)
class Vote:
    """One piece of feedback on an answer."""

    rating: int
    comment: str | None


@dataclass(frozen=True)
class Turn:
    """One stored message: a question, or an answer with what produced it in ``meta``."""

    id: int
    role: str  # "user" or "assistant"
    content: str
    created_at: float
    meta: dict[str, Any]  # {} for questions
    feedback: tuple[Vote, ...]  # oldest first; only answers get any


@dataclass(frozen=True)
class ConversationDetail:
    """One conversation with every turn, oldest first."""

    id: str
    scope: str
    created_at: float
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class FeedbackEntry:
    """One feedback row with the snapshot of the question and answer it was about."""

    id: int
    conversation_id: str
    message_id: int
    rating: int
    comment: str | None
    created_at: float
    scope: str | None  # its conversation's scope; None when that conversation is gone
    question: str | None
    answer: str | None
    meta: dict[str, Any]  # the answer's meta when it was rated (model, citations, ...)


@dataclass(frozen=True)
class UnansweredQuestion:
    """A question the docs could not answer, counted over its wordings."""

    count: int
    question: str  # its most common wording; ties go to the wording seen first
    last_asked: float
    reason: str | None  # the latest abstention's reason
    conversation_id: str  # where it was last asked


@dataclass(frozen=True)
class AbstentionReport:
    """Unanswered questions, most frequent first, and how many recent messages were read."""

    questions: tuple[UnansweredQuestion, ...]
    scanned_messages: int


def normalize_question(text: str) -> str:
    """Questions that differ only in case, spacing or end punctuation count as one."""
    return re.sub(r"\s+", " ", text).strip().rstrip("?!. ").lower()


def _visible(visible_to: str | None) -> ColumnElement[bool]:
    if visible_to is None:
        return true()
    return ~conversations.c.scope.startswith("staff:") | (conversations.c.scope == visible_to)


def _abstained(meta: dict[str, Any] | None) -> bool:
    return not (meta or {}).get("answerable", True)


def list_conversations(conn: Connection, visible_to: str | None, limit: int) -> list[ConversationSummary]:
    """The ``limit`` newest conversations ``visible_to`` may see, newest first."""
    convs = conn.execute(select(conversations).where(_visible(visible_to))
                         .order_by(conversations.c.created_at.desc()).limit(limit)).all()
    ids = [c.id for c in convs]
    turns: dict[str, list[Any]] = {cid: [] for cid in ids}
    for row in conn.execute(select(messages.c.conversation_id, messages.c.role, messages.c.content, messages.c.meta)
                            .where(messages.c.conversation_id.in_(ids)).order_by(messages.c.id)):
        turns[row.conversation_id].append(row)
    negative: dict[str, int] = {cid: int(n) for cid, n in conn.execute(
        select(feedback.c.conversation_id, func.count())
        .where(feedback.c.conversation_id.in_(ids), feedback.c.rating < 0).group_by(feedback.c.conversation_id))}
    out = []
    for conv in convs:
        rows = turns[conv.id]
        out.append(ConversationSummary(
            id=conv.id, scope=conv.scope, created_at=conv.created_at,
            first_question=next((r.content for r in rows if r.role == "user"), ""), messages=len(rows),
            abstained=sum(1 for r in rows if r.role == "assistant" and _abstained(r.meta)),
            negative_feedback=negative.get(conv.id, 0)))
    return out


def conversation_detail(conn: Connection, conversation_id: str) -> ConversationDetail | None:
    """Every turn of one conversation with its feedback; None when there is no such conversation."""
    if "\x00" in conversation_id or len(conversation_id) > _MAX_ID:
        return None  # no such id, and PostgreSQL would refuse the query
    conv = conn.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
    if conv is None:
        return None
    rows = conn.execute(select(messages).where(messages.c.conversation_id == conversation_id)
                        .order_by(messages.c.id)).all()
    votes: dict[int, list[Vote]] = {}
    for v in conn.execute(select(feedback.c.message_id, feedback.c.rating, feedback.c.comment)
                          .where(feedback.c.conversation_id == conversation_id).order_by(feedback.c.id)):
        votes.setdefault(v.message_id, []).append(Vote(rating=v.rating, comment=v.comment))
    return ConversationDetail(id=conv.id, scope=conv.scope, created_at=conv.created_at, turns=tuple(
        Turn(id=r.id, role=r.role, content=r.content, created_at=r.created_at, meta=dict(r.meta or {}),
             feedback=tuple(votes.get(r.id, ()))) for r in rows))


def recent_feedback_entries(conn: Connection, rating: int | None, limit: int) -> list[FeedbackEntry]:
    """The ``limit`` newest feedback rows (of one rating, unless None), newest first, each with its
    conversation's scope so the caller can hide what a key may not see."""
    query = (select(feedback, conversations.c.scope)
             .select_from(feedback.outerjoin(conversations, conversations.c.id == feedback.c.conversation_id))
             .order_by(feedback.c.id.desc()).limit(limit))
    if rating is not None:
        query = query.where(feedback.c.rating == rating)
    out = []
    for row in conn.execute(query):
        snap = row.snapshot or {}
        out.append(FeedbackEntry(
            id=row.id, conversation_id=row.conversation_id, message_id=row.message_id, rating=row.rating,
            comment=row.comment, created_at=row.created_at, scope=row.scope, question=snap.get("question"),
            answer=snap.get("answer"), meta=dict(snap.get("meta") or {})))
    return out


def unanswered_questions(conn: Connection, visible_to: str | None, limit: int, scan: int) -> AbstentionReport:
    """The ``limit`` questions most often answered with an abstention among the ``scan`` newest
    messages ``visible_to`` may see; ties go to the one asked last.

    Answers withheld because the model was down are not counted: that is no gap in the docs.
    """
    rows = conn.execute(
        select(messages.c.conversation_id, messages.c.role, messages.c.content, messages.c.meta,
               messages.c.created_at)
        .join(conversations, conversations.c.id == messages.c.conversation_id).where(_visible(visible_to))
        .order_by(messages.c.id.desc()).limit(scan)).all()
    last_question: dict[str, str] = {}
    counts: Counter[str] = Counter()
    phrasings: dict[str, Counter[str]] = {}
    latest: dict[str, tuple[float, str | None, str]] = {}  # last asked, reason, conversation
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
        latest[key] = (row.created_at, meta.get("abstain_reason"), row.conversation_id)
    ranked = sorted(counts, key=lambda k: (-counts[k], -latest[k][0]))[:limit]
    return AbstentionReport(scanned_messages=len(rows), questions=tuple(
        UnansweredQuestion(count=counts[k], question=phrasings[k].most_common(1)[0][0], last_asked=latest[k][0],
                           reason=latest[k][1], conversation_id=latest[k][2]) for k in ranked))
