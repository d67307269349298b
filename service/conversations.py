"""Conversation history and feedback in a small SQL store (SQLite by default).

Each conversation is bound to the scope that created it (public, or a staff key), so
a public caller can never continue, or read, a staff conversation.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine

from docent.errors import DocentError


class UnknownConversationError(DocentError):
    """The id names no conversation this caller may continue."""

    status_code = 404


# Any fixed 64-bit number; names the advisory lock held while creating the tables.
_SCHEMA_LOCK_KEY = 0x646F63656E74

metadata = MetaData()
conversations = Table(
    "conversations", metadata,
    Column("id", String(36), primary_key=True),
    Column("scope", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
)
messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), index=True, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("meta", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
)
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), index=True, nullable=False),
    Column("message_id", Integer, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("snapshot", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
)


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

    def close(self) -> None:
        self.engine.dispose()
