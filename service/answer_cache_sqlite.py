"""The answer cache in SQLite: ``data/answer_cache.db`` beside the conversation store.

WAL mode, so several processes on one machine can share the file; one connection per
backend, serialised by a lock (lookups are a few milliseconds).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from service.answer_cache_entry import CacheEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, question TEXT NOT NULL, vector BLOB NOT NULL,
    body TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL, used_at REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0, last_hit_at REAL);
CREATE INDEX IF NOT EXISTS entries_key ON entries (key);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used_at);
CREATE TABLE IF NOT EXISTS entry_docs (
    entry_id TEXT NOT NULL REFERENCES entries (id) ON DELETE CASCADE, doc_path TEXT NOT NULL,
    PRIMARY KEY (doc_path, entry_id));
CREATE INDEX IF NOT EXISTS entry_docs_entry ON entry_docs (entry_id);
"""


class SqliteBackend:
    """``CacheBackend`` over one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=5.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def candidates(self, key: str) -> list[tuple[str, npt.NDArray[np.float32], str]]:
        with self._lock:
            rows = self._db.execute("SELECT id, vector, question FROM entries WHERE key = ? AND expires_at > ?",
                                    (key, time.time())).fetchall()
        return [(r[0], np.frombuffer(r[1], dtype=np.float32), r[2]) for r in rows]

    def get(self, entry_id: str) -> CacheEntry | None:
        with self._lock:
            row = self._db.execute("SELECT body, hits, last_hit_at FROM entries WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            return None
        entry = CacheEntry.from_json(json.loads(row[0]))
        entry.hits, entry.last_hit_at = int(row[1]), row[2]
        return entry

    def put(self, entry: CacheEntry, *, ttl_s: int, max_entries: int) -> None:
        body = json.dumps(entry.to_json())
        vector = np.asarray(entry.vector, dtype=np.float32).tobytes()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO entries (id, key, question, vector, body, created_at, expires_at, used_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry.id, entry.key, entry.question, vector, body, entry.created_at,
                     entry.created_at + ttl_s, entry.created_at))
                self._db.executemany("INSERT OR IGNORE INTO entry_docs (entry_id, doc_path) VALUES (?, ?)",
                                     [(entry.id, p) for p in entry.doc_paths])
                # Expired entries, then the least recently used past the cap.
                self._db.execute("DELETE FROM entries WHERE expires_at <= ?", (time.time(),))
                self._db.execute("DELETE FROM entries WHERE id IN (SELECT id FROM entries ORDER BY used_at DESC "
                                 "LIMIT -1 OFFSET ?)", (max_entries,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def touch(self, entry_id: str) -> None:
        now = time.time()
        with self._lock:
            self._db.execute("UPDATE entries SET hits = hits + 1, last_hit_at = ?, used_at = ? WHERE id = ?",
                             (now, now, entry_id))

    def delete(self, ids: list[str]) -> int:
        if not ids:
            return 0
        with self._lock:
            cur = self._db.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])
            return max(cur.rowcount, 0)

    def ids_for_docs(self, doc_paths: list[str]) -> list[str]:
        if not doc_paths:
            return []
        rows: list[tuple[str]] = []
        with self._lock:
            for path in doc_paths:
                rows += self._db.execute("SELECT entry_id FROM entry_docs WHERE doc_path = ?", (path,)).fetchall()
        return sorted({r[0] for r in rows})

    def entries(self, limit: int) -> list[CacheEntry]:
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT id FROM entries WHERE expires_at > ? "
                                                  "ORDER BY used_at DESC LIMIT ?", (time.time(), limit)).fetchall()]
        return [e for e in (self.get(i) for i in ids) if e is not None]

    def clear(self) -> int:
        with self._lock:
            return max(self._db.execute("DELETE FROM entries").rowcount, 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()
