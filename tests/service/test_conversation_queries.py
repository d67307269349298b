"""The staff console's reads of ConversationStore, on SQLite and (when installed) PostgreSQL."""

from __future__ import annotations

import itertools
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text

from service import conversations as conversations_module
from service.conversation_queries import (
    ConversationSummary,
    FeedbackEntry,
    UnansweredQuestion,
    Vote,
    normalize_question,
)
from service.conversations import ConversationStore, feedback

ABSTAIN = {"answerable": False, "abstain_reason": "no_relevant_docs"}
ANSWER = {"answerable": True, "model": "m1", "citations": [{"marker": 1, "title": "T", "url": "/docs/t"}]}
SUPPORT = "staff:support"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[ConversationStore]:
    """An empty store whose clock ticks one second per reading, so every row's time is distinct."""
    clock = itertools.count(1_000_000)
    monkeypatch.setattr(conversations_module, "time", types.SimpleNamespace(time=lambda: float(next(clock))))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'conversations.db'}"
    else:
        pg_url: str = request.getfixturevalue("pg_url")
        name = "q_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = pg_url.rsplit("/", 1)[0] + "/" + name
    s = ConversationStore(url)
    yield s
    s.close()


def _conversation(store: ConversationStore, scope: str, *turns: tuple[str, str, dict[str, Any] | None]) -> str:
    """A conversation of (question, answer, answer meta) turns; returns its id."""
    cid = store.new_id()
    for n, (question, answer, meta) in enumerate(turns):
        store.record_turn(cid, scope, question, answer, meta, new=n == 0)
    return cid


def _answer_ids(store: ConversationStore, cid: str) -> list[int]:
    detail = store.conversation_detail(cid)
    assert detail is not None
    return [t.id for t in detail.turns if t.role == "assistant"]


def test_list_conversations_newest_first_with_sizes_abstentions_and_negative_feedback(
        store: ConversationStore) -> None:
    old = _conversation(store, "public", ("How do I proxy?", "Like so [1]", ANSWER), ("And SOCKS?", "No.", ABSTAIN))
    empty = store.create("widget:acme")
    new = _conversation(store, SUPPORT, ("Refund policy?", "No.", ABSTAIN))
    [a1, a2] = _answer_ids(store, old)
    store.add_feedback(old, a1, "public", -1, "wrong")
    store.add_feedback(old, a2, "public", -1, None)
    store.add_feedback(old, a2, "public", 1, None)

    got = store.list_conversations(visible_to=None, limit=10)

    assert [c.id for c in got] == [new, empty, old]
    assert got[2] == ConversationSummary(id=old, scope="public", created_at=got[2].created_at,
                                         first_question="How do I proxy?", messages=4, abstained=1,
                                         negative_feedback=2)
    assert (got[1].first_question, got[1].messages, got[1].abstained, got[1].negative_feedback) == ("", 0, 0, 0)
    assert got[0].abstained == 1 and got[0].negative_feedback == 0
    assert [c.id for c in store.list_conversations(visible_to=None, limit=2)] == [new, empty]


def test_list_conversations_hides_other_staff_keys_conversations(store: ConversationStore) -> None:
    public = _conversation(store, "public", ("q", "a", ANSWER))
    widget = _conversation(store, "widget:acme", ("q", "a", ANSWER))
    own = _conversation(store, SUPPORT, ("q", "a", ANSWER))
    other = _conversation(store, "staff:alice", ("q", "a", ANSWER))

    assert [c.id for c in store.list_conversations(visible_to=SUPPORT, limit=10)] == [own, widget, public]
    assert [c.id for c in store.list_conversations(visible_to="staff:alice", limit=10)] == [other, widget, public]
    assert len(store.list_conversations(visible_to=None, limit=10)) == 4
    assert [c.id for c in store.list_conversations(visible_to=SUPPORT, limit=1)] == [own]


def test_conversation_detail_every_turn_in_order_with_feedback_on_its_answer(store: ConversationStore) -> None:
    cid = _conversation(store, SUPPORT, ("first?", "one [1]", ANSWER), ("second?", "No.", ABSTAIN))
    [a1, a2] = _answer_ids(store, cid)
    store.add_feedback(cid, a2, SUPPORT, -1, "not helpful")
    store.add_feedback(cid, a2, SUPPORT, 1, None)

    detail = store.conversation_detail(cid)

    assert detail is not None
    assert (detail.id, detail.scope) == (cid, SUPPORT)
    assert [(t.role, t.content) for t in detail.turns] == [
        ("user", "first?"), ("assistant", "one [1]"), ("user", "second?"), ("assistant", "No.")]
    assert [t.id for t in detail.turns] == sorted(t.id for t in detail.turns)
    assert [t.meta for t in detail.turns] == [{}, ANSWER, {}, ABSTAIN]
    assert [t.feedback for t in detail.turns] == [(), (), (), (Vote(-1, "not helpful"), Vote(1, None))]
    assert detail.created_at <= detail.turns[0].created_at


@pytest.mark.parametrize("cid", ["00000000-0000-0000-0000-000000000000", "abc\x00def", "x" * 65, ""])
def test_conversation_detail_none_for_unknown_or_impossible_ids(store: ConversationStore, cid: str) -> None:
    """No such conversation: None, never a database error (PostgreSQL refuses NUL in text)."""
    _conversation(store, "public", ("q", "a", ANSWER))
    assert store.conversation_detail(cid) is None


def test_recent_feedback_entries_newest_first_by_rating_with_scope_and_snapshot(store: ConversationStore) -> None:
    public = _conversation(store, "public", ("How do I proxy?", "Like so [1]", ANSWER))
    staff = _conversation(store, "staff:alice", ("Refund policy?", "No.", ABSTAIN))
    [pa] = _answer_ids(store, public)
    [sa] = _answer_ids(store, staff)
    down = store.add_feedback(public, pa, "public", -1, "wrong port")
    up = store.add_feedback(staff, sa, "staff:alice", 1, None)
    down2 = store.add_feedback(staff, sa, "staff:alice", -1, "vague")

    got = store.recent_feedback_entries(rating=-1, limit=10)

    assert [e.id for e in got] == [down2, down]
    assert got[1] == FeedbackEntry(id=down, conversation_id=public, message_id=pa, rating=-1, comment="wrong port",
                                   created_at=got[1].created_at, scope="public", question="How do I proxy?",
                                   answer="Like so [1]", meta=ANSWER)
    assert (got[0].scope, got[0].question, got[0].answer, got[0].meta) == ("staff:alice", "Refund policy?", "No.",
                                                                          ABSTAIN)
    assert [e.id for e in store.recent_feedback_entries(rating=1, limit=10)] == [up]
    assert [e.id for e in store.recent_feedback_entries(rating=None, limit=10)] == [down2, up, down]
    assert [e.id for e in store.recent_feedback_entries(rating=None, limit=2)] == [down2, up]


def test_recent_feedback_entries_of_a_vanished_conversation_have_no_scope(store: ConversationStore) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(feedback).values(conversation_id="gone", message_id=7, rating=-1, comment=None,
                                             snapshot=None, created_at=1.0))
    [entry] = store.recent_feedback_entries(rating=-1, limit=5)
    assert (entry.conversation_id, entry.scope, entry.question, entry.answer, entry.meta) == ("gone", None, None,
                                                                                             None, {})


def test_unanswered_questions_counted_over_wordings_most_frequent_first(store: ConversationStore) -> None:
    unavailable = {"answerable": False, "abstain_reason": "model_unavailable"}
    c1 = _conversation(store, "public", ("Refund policy?", "No.", ABSTAIN), ("How do I proxy?", "So [1]", ANSWER))
    _conversation(store, "public", ("refund   POLICY", "No.", ABSTAIN), ("Pricing?", "No.", ABSTAIN))
    c3 = _conversation(store, "public", ("Refund policy?", "No.", {**ABSTAIN, "abstain_reason": "weak_evidence"}),
                       ("Pricing?", "No.", ABSTAIN), ("Down?", "Sorry.", unavailable))
    c4 = _conversation(store, "public", ("Discounts!", "No.", ABSTAIN))

    report = store.unanswered_questions(visible_to=None, limit=10, scan=1000)

    assert report.scanned_messages == 16
    refund, pricing, discounts = report.questions
    assert refund == UnansweredQuestion(count=3, question="Refund policy?", last_asked=refund.last_asked,
                                        reason="weak_evidence", conversation_id=c3)
    assert (pricing.count, pricing.question, pricing.conversation_id) == (2, "Pricing?", c3)
    # One each: the one asked last comes first.
    assert (discounts.count, discounts.question, discounts.conversation_id) == (1, "Discounts!", c4)
    assert refund.last_asked < pricing.last_asked < discounts.last_asked
    assert [q.question for q in store.unanswered_questions(visible_to=None, limit=1, scan=1000).questions] == [
        "Refund policy?"]
    # Only the newest messages are read: here c4's turn and c3's last two.
    newest = store.unanswered_questions(visible_to=None, limit=10, scan=6)
    assert newest.scanned_messages == 6
    assert [(q.question, q.count) for q in newest.questions] == [("Discounts!", 1), ("Pricing?", 1)]
    assert c1 not in {q.conversation_id for q in newest.questions}


def test_unanswered_questions_only_from_conversations_the_key_may_see(store: ConversationStore) -> None:
    _conversation(store, "staff:alice", ("Salary bands?", "No.", ABSTAIN))
    own = _conversation(store, SUPPORT, ("Escalation path?", "No.", ABSTAIN))
    _conversation(store, "widget:acme", ("Widget colours?", "No.", ABSTAIN))

    report = store.unanswered_questions(visible_to=SUPPORT, limit=10, scan=1000)

    assert report.scanned_messages == 4
    assert [q.question for q in report.questions] == ["Widget colours?", "Escalation path?"]
    assert report.questions[1].conversation_id == own
    assert len(store.unanswered_questions(visible_to=None, limit=10, scan=1000).questions) == 3


def test_normalize_question_ignores_case_spacing_and_end_punctuation() -> None:
    assert normalize_question("  Refund\n policy?! ") == normalize_question("refund policy") == "refund policy"
