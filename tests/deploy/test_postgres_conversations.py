"""The conversation store on a real PostgreSQL server, as API replicas share it in compose."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from docent.errors import UnknownConversationError
from service.conversations import ConversationStore


@pytest.fixture
def db_url(pg_url: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the module's server."""
    from sqlalchemy import create_engine, text

    name = "t_" + request.node.name.lower()[:50].replace("[", "_").replace("]", "_").replace("-", "_")
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url.rsplit("/", 1)[0] + "/" + name


def test_postgres_create_append_history_feedback(db_url: str) -> None:
    """Create, append, history (last turns, oldest first), message lookup and feedback with its snapshot."""
    store = ConversationStore(db_url)
    try:
        cid = store.create("public")
        for n in range(4):
            store.append(cid, "user", f"question {n}")
            answer_id = store.append(cid, "assistant", f"answer {n} [1]", {"citations": [{"marker": 1}], "n": n})
        assert store.history(cid, "public", turns=2) == [
            {"role": "user", "content": "question 2"}, {"role": "assistant", "content": "answer 2 [1]"},
            {"role": "user", "content": "question 3"}, {"role": "assistant", "content": "answer 3 [1]"},
        ]
        assert store.message(cid, answer_id, "public")["meta"] == {"citations": [{"marker": 1}], "n": 3}
        fid = store.add_feedback(cid, answer_id, "public", -1, "wrong port")
        [row] = store.recent_feedback(rating=-1)
        assert row["id"] == fid and row["comment"] == "wrong port"
        assert row["snapshot"]["question"] == "question 3" and row["snapshot"]["answer"] == "answer 3 [1]"
        assert store.recent_feedback(rating=1) == []
    finally:
        store.close()


def test_postgres_scope_binding_hides_other_scopes(db_url: str) -> None:
    """A staff conversation cannot be read or continued from the public scope, with the same message."""
    store = ConversationStore(db_url)
    try:
        staff = store.create("staff:alice")
        store.append(staff, "user", "internal question")
        with pytest.raises(UnknownConversationError) as hidden:
            store.history(staff, "public", turns=3)
        with pytest.raises(UnknownConversationError) as missing:
            store.history("00000000-0000-0000-0000-000000000000", "public", turns=3)
        assert str(hidden.value).split("'")[0] == str(missing.value).split("'")[0]
    finally:
        store.close()


def test_postgres_replicas_share_conversations(db_url: str) -> None:
    """Stores opened concurrently (replicas starting together) create the schema once and see each other's turns."""
    stores: list[ConversationStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            stores.append(ConversationStore(db_url))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors and len(stores) == 4
        cid = stores[0].create("public")
        stores[1].append(cid, "user", "hello from replica 1")
        stores[2].append(cid, "assistant", "hello back [1]")
        assert [m["content"] for m in stores[3].history(cid, "public", turns=1)] == [
            "hello from replica 1", "hello back [1]"]
    finally:
        for s in stores:
            s.close()


def test_sqlite_default_still_works(tmp_path: Path) -> None:
    """SQLite stays the embedded default and goes through the same code."""
    store = ConversationStore(f"sqlite:///{tmp_path / 'docent.db'}")
    try:
        cid = store.create("public")
        store.append(cid, "user", "q")
        assert store.history(cid, "public", turns=1) == [{"role": "user", "content": "q"}]
    finally:
        store.close()
