"""Conversation history and feedback in a small SQL store (SQLite by default).

Each conversation is bound to the scope that created it (public, or a staff key), so
a public caller can never continue, or read, a staff conversation.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import Engine

from docent.errors import UnknownConversationError
from service import conversation_queries as queries
from service.conversation_queries import AbstentionReport, ConversationDetail, ConversationSummary, FeedbackEntry
from service.conversation_tables import conversations, feedback, messages, metadata

# Any fixed 64-bit number; names the advisory lock held while creating the tables.
_SCHEMA_LOCK_KEY = 0x646F63656E74


def _inserted_id(result: Any) -> int:
    """The new row's id from an INSERT's result."""
    key = result.inserted_primary_key
    assert key is not None  # every table here has an autoincrement id
    return int(key[0])


class ConversationStore:
    """Create conversations, append turns, read recent history, record feedback."""

    def __init__(self, url: str) -> None:
        sqlite = url.startswith("sqlite")
        # A server database (Postgres, shared by API replicas) may drop idle connections
        # or restart: check each pooled connection before use rather than fail a request.
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=not sqlite)
        if sqlite:
            @event.listens_for(self.engine, "connect")
            def _wal(conn: Any, _record: Any) -> None:
                # WAL lets readers proceed while a request writes.
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # Replicas starting together would race on CREATE TABLE; Postgres DDL is
                # transactional, so one advisory lock per transaction serialises them.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn)

    @staticmethod
    def new_id() -> str:
        """An id for a conversation that ``record_turn(..., new=True)`` will create."""
        return str(uuid.uuid4())

    def create(self, scope: str) -> str:
        cid = self.new_id()
        with self.engine.begin() as conn:
            conn.execute(insert(conversations).values(id=cid, scope=scope, created_at=time.time()))
        return cid

    def record_turn(self, cid: str, scope: str, question: str, answer: str, meta: dict[str, Any] | None,
                    *, new: bool) -> int:
        """Store one question and its answer in one transaction; returns the answer's message id.

        With ``new`` the conversation row is created in the same transaction, so a chat that
        is interrupted or fails before its answer leaves no empty conversation behind.
        """
        now = time.time()
        with self.engine.begin() as conn:
            if new:
                conn.execute(insert(conversations).values(id=cid, scope=scope, created_at=now))
            conn.execute(insert(messages).values(
                conversation_id=cid, role="user", content=question, meta=None, created_at=now))
            result = conn.execute(insert(messages).values(
                conversation_id=cid, role="assistant", content=answer, meta=meta, created_at=time.time()))
            return _inserted_id(result)

    def _check(self, conn: Any, cid: str, scope: str) -> None:
        row = conn.execute(select(conversations.c.scope).where(conversations.c.id == cid)).first()
        if row is None or row.scope != scope:
            # Same message either way: do not reveal that another scope's id exists.
            raise UnknownConversationError(f"Unknown conversation_id {cid!r}. Omit it to start a new conversation.")

    def history(self, cid: str, scope: str, turns: int) -> list[dict[str, str]]:
        """The last ``turns`` user/assistant pairs, oldest first."""
        with self.engine.connect() as conn:
            self._check(conn, cid, scope)
            rows = conn.execute(
                select(messages.c.role, messages.c.content).where(messages.c.conversation_id == cid)
                .order_by(messages.c.id.desc()).limit(turns * 2)
            ).all()
        return [{"role": r.role, "content": r.content} for r in reversed(rows)]

    def append(self, cid: str, role: str, content: str, meta: dict[str, Any] | None = None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(messages).values(
                conversation_id=cid, role=role, content=content, meta=meta, created_at=time.time()))
            return _inserted_id(result)

    def message(self, cid: str, message_id: int, scope: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            self._check(conn, cid, scope)
            row = conn.execute(select(messages).where(messages.c.id == message_id,
                                                      messages.c.conversation_id == cid)).first()
        if row is None or row.role != "assistant":
            raise UnknownConversationError(f"Unknown message_id {message_id} in this conversation.")
        return dict(row._mapping)

    def add_feedback(self, cid: str, message_id: int, scope: str, rating: int, comment: str | None) -> int:
        """Store a thumbs up/down with a snapshot of the question, answer, citations and model."""
        answer = self.message(cid, message_id, scope)
        with self.engine.connect() as conn:
            question = conn.execute(
                select(messages.c.content).where(messages.c.conversation_id == cid, messages.c.id < message_id,
                                                 messages.c.role == "user").order_by(messages.c.id.desc()).limit(1)
            ).scalar()
        snapshot = {"question": question, "answer": answer["content"], "meta": answer["meta"]}
        with self.engine.begin() as conn:
            result = conn.execute(insert(feedback).values(
                conversation_id=cid, message_id=message_id, rating=rating, comment=comment,
                snapshot=json.loads(json.dumps(snapshot, default=str)), created_at=time.time()))
            return _inserted_id(result)

    def recent_feedback(self, rating: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(feedback).order_by(feedback.c.id.desc()).limit(limit)
        if rating is not None:
            query = query.where(feedback.c.rating == rating)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query).all()]

    # The staff console's reads (service.conversation_queries). ``visible_to`` is the staff
    # key's scope: it sees public and widget conversations and its own; None sees all (admin).

    def list_conversations(self, *, visible_to: str | None, limit: int) -> list[ConversationSummary]:
        """The ``limit`` newest conversations ``visible_to`` may see, with their sizes and first questions."""
        with self.engine.connect() as conn:
            return queries.list_conversations(conn, visible_to, limit)

    def conversation_detail(self, cid: str) -> ConversationDetail | None:
        """Every turn of one conversation, with feedback; None if there is none by that id.
        Whoever shows it checks that the caller may see its ``scope``."""
        with self.engine.connect() as conn:
            return queries.conversation_detail(conn, cid)

    def recent_feedback_entries(self, *, rating: int | None, limit: int) -> list[FeedbackEntry]:
        """The ``limit`` newest feedback rows (of ``rating``, unless None), each with its conversation's scope."""
        with self.engine.connect() as conn:
            return queries.recent_feedback_entries(conn, rating, limit)

    def unanswered_questions(self, *, visible_to: str | None, limit: int, scan: int) -> AbstentionReport:
        """The questions most often answered with an abstention among the ``scan`` newest messages."""
        with self.engine.connect() as conn:
            return queries.unanswered_questions(conn, visible_to, limit, scan)

    def close(self) -> None:
        self.engine.dispose()
