"""The answer cache in Redis (``DOCENT_REDIS_URL``), shared by every API worker.

Keys, all under ``docent:cache:``: ``e:<id>`` the entry's JSON; ``s:<id>`` its hit count;
``kv:<key>`` / ``kq:<key>`` hashes of id -> vector / question for one scope key (one
round trip fetches every candidate); ``d:<doc path>`` the ids built from a doc; ``lru`` a
sorted set of ids by last use, which bounds the cache at ``max_entries``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.answer_cache_entry import CacheEntry

PREFIX = "docent:cache:"
LRU = PREFIX + "lru"


class RedisBackend:
    """``CacheBackend`` over one Redis database."""

    def __init__(self, url: str) -> None:
        # Short timeouts and no retries (redis-py retries 3 times by default): with Redis down a
        # lookup must fail fast, as a miss, and chat go on without the cache.
        self._r: Any = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25,
                                            retry=Retry(NoBackoff(), 0))

    def candidates(self, key: str) -> list[tuple[str, npt.NDArray[np.float32], str]]:
        pipe = self._r.pipeline(transaction=False)
        pipe.hgetall(PREFIX + "kv:" + key)
        pipe.hgetall(PREFIX + "kq:" + key)
        vectors, questions = pipe.execute()
        return [(i.decode(), np.frombuffer(v, dtype=np.float32), questions.get(i, b"").decode())
                for i, v in vectors.items()]

    def get(self, entry_id: str) -> CacheEntry | None:
        pipe = self._r.pipeline(transaction=False)
        pipe.get(PREFIX + "e:" + entry_id)
        pipe.hgetall(PREFIX + "s:" + entry_id)
        body, stats = pipe.execute()
        if body is None:
            return None
        entry = CacheEntry.from_json(json.loads(body))
        entry.hits = int(stats.get(b"hits", 0))
        last = stats.get(b"last_hit_at")
        entry.last_hit_at = float(last) if last is not None else None
        return entry

    def put(self, entry: CacheEntry, *, ttl_s: int, max_entries: int) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.set(PREFIX + "e:" + entry.id, json.dumps(entry.to_json()))
        pipe.hset(PREFIX + "kv:" + entry.key, entry.id, np.asarray(entry.vector, dtype=np.float32).tobytes())
        pipe.hset(PREFIX + "kq:" + entry.key, entry.id, entry.question)
        for path in entry.doc_paths:
            pipe.sadd(PREFIX + "d:" + path, entry.id)
        pipe.zadd(LRU, {entry.id: entry.created_at})
        pipe.execute()
        # Expiry is checked on read (created_at + ttl_s); the cap is enforced here.
        excess = int(self._r.zcard(LRU)) - max_entries
        if excess > 0:
            self.delete([i.decode() for i in self._r.zrange(LRU, 0, excess - 1)])

    def touch(self, entry_id: str) -> None:
        now = time.time()
        pipe = self._r.pipeline(transaction=False)
        pipe.hincrby(PREFIX + "s:" + entry_id, "hits", 1)
        pipe.hset(PREFIX + "s:" + entry_id, "last_hit_at", now)
        pipe.zadd(LRU, {entry_id: now}, xx=True)
        pipe.execute()

    def delete(self, ids: list[str]) -> int:
        removed = 0
        for entry_id in ids:
            body = self._r.get(PREFIX + "e:" + entry_id)
            pipe = self._r.pipeline(transaction=True)
            if body is not None:
                data = json.loads(body)
                pipe.hdel(PREFIX + "kv:" + data["key"], entry_id)
                pipe.hdel(PREFIX + "kq:" + data["key"], entry_id)
                for path in data["doc_paths"]:
                    pipe.srem(PREFIX + "d:" + path, entry_id)
            pipe.delete(PREFIX + "e:" + entry_id, PREFIX + "s:" + entry_id)
            pipe.zrem(LRU, entry_id)
            removed += int(pipe.execute()[-2] > 0)
        return removed

    def ids_for_docs(self, doc_paths: list[str]) -> list[str]:
        if not doc_paths:
            return []
        members = self._r.sunion([PREFIX + "d:" + p for p in doc_paths])
        return sorted(m.decode() for m in members)

    def entries(self, limit: int) -> list[CacheEntry]:
        ids = [i.decode() for i in self._r.zrevrange(LRU, 0, limit - 1)]
        return [e for e in (self.get(i) for i in ids) if e is not None]

    def clear(self) -> int:
        count = int(self._r.zcard(LRU))
        keys = list(self._r.scan_iter(match=PREFIX + "*", count=500))
        for start in range(0, len(keys), 500):
            self._r.delete(*keys[start:start + 500])
        return count

    def close(self) -> None:
        self._r.close()
