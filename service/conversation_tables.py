"""The conversation store's three tables, shared by ``service.conversations`` (writes and
chat reads) and ``service.conversation_queries`` (the staff console's reads)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

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
