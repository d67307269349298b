"""The conversation store's tables, shared by ``service.conversations`` (writes and
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
# The handoff outbox (service/handoff_outbox.py): every handoff, delivered or waiting to be.
handoffs = Table(
    "handoffs", metadata,
    Column("id", String(36), primary_key=True),  # also the Idempotency-Key and the ticket's external_id
    Column("conversation_id", String(36), index=True, nullable=False),
    Column("scope", String(128), nullable=False),
    Column("target", String(16), nullable=False),
    Column("payload", JSON, nullable=False),  # the ticket as first built: every retry sends the same
    Column("status", String(16), index=True, nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("ticket_ref", String(128), nullable=True),
    Column("next_attempt_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
)
# Gap-report groups closed by a re-ask after a docs change (service/gaps_recheck.py), by label question.
gap_groups = Table(
    "gap_groups", metadata,
    Column("key", String(512), primary_key=True),  # the label question, normalised
    Column("label", Text, nullable=False),
    Column("closed_at", Float, nullable=True),
    Column("checked_at", Float, nullable=False),
    Column("answer", Text, nullable=True),
)
