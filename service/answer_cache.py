"""The answer cache: a recent single-turn question, or a close paraphrase, answered again at once.

Never stale, never across a boundary:

- **Key.** An entry is filed under its caller's exact access scope (public, or staff with
  its sorted group set, or all groups), the model chain, the answer mode, and hashes of the
  prompts (``service/prompts/*.txt``), of the answer/verifier code and of the chat settings.
  A public caller can only ever meet entries answered for public callers.
- **Match.** Inside a key, a stored question answers a new one when their MiniLM
  similarity is at least ``cache.min_similarity`` and the lexical guard of
  ``service/answer_cache_match.py`` finds no difference that matters.
- **Validation on read.** Before an entry is served, its sources (every retrieved chunk,
  cited or not) are read back from the index: a chunk gone, a ``doc_hash`` changed, or a
  visibility or group set its scope may no longer read evicts the entry and misses. This
  holds for other workers and a remote Qdrant too.
- **Eager invalidation.** Each ingest that changes or removes docs evicts the entries built
  from them (``Runtime._changed``); added docs clear the cache, since a new page may answer
  any cached question better.

Only answerable, non-degraded answers are stored, so an abstention never hides a page
added later. Storage errors (Redis down) are logged and count as a miss: chat answers on.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from docent.embedder import Embedder
from docent.index.base import Index
from docent.schema import Access
from docent.settings import CacheSettings, Settings
from service.answer import Answer
from service.answer_cache_entry import CacheBackend, CacheEntry, answer_from_json, answer_json, scope_access, scope_json
from service.answer_cache_match import compatible, terms

log = logging.getLogger(__name__)

# The code whose change may change an answer for the same sources: part of every key.
VERIFIER_MODULES = ("service.answer", "service.answerer", "service.grounding", "service.extractive",
                    "service.citations", "service.guard", "service.prompt_budget", "service.answer_cache_entry")
_WARN_EVERY_S = 60.0


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def prompt_version() -> str:
    """Hash of every prompt file."""
    folder = Path(__file__).resolve().parent / "prompts"
    return _digest([p.name.encode() + p.read_bytes() for p in sorted(folder.glob("*.txt"))])


def verifier_version() -> str:
    """Hash of the answer, citation and grounding code (bumps itself with every change)."""
    parts = []
    for name in VERIFIER_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            parts.append(name.encode() + Path(spec.origin).read_bytes())
    return _digest(parts)


def fingerprint(config: dict[str, Any]) -> str:
    """Everything but the scope that keys an entry: ``config`` (model chain, answer mode,
    chat settings, embedder) plus the prompt and verifier versions."""
    blob = json.dumps({**config, "prompts": prompt_version(), "verifier": verifier_version()}, sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cache_key(fp: str, access: Access) -> str:
    """The key of one scope under one fingerprint."""
    blob = json.dumps({"fp": fp, "scope": scope_json(access)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


@dataclass(slots=True)
class Probe:
    """A looked-up question that missed: what storing its fresh answer needs."""

    key: str
    question: str
    vector: list[float]
    access: Access


class AnswerCache:
    """Lookup, store and eviction over one backend; blocking (call from a worker thread)."""

    def __init__(self, backend: CacheBackend, embedder: Embedder, index: Callable[[], Index],
                 settings: CacheSettings, fp: str, name: str) -> None:
        self.backend = backend
        self.embedder = embedder
        self.index = index  # the retriever's searchable_index: the store the answers came from
        self.settings = settings
        self.fp = fp
        self.name = name  # "sqlite" or "redis", for logs and the console
        self._warned = 0.0

    def _warn(self, what: str, exc: BaseException) -> None:
        # Redis down would fail every request: say so once a minute, not each time.
        now = time.monotonic()
        if now - self._warned >= _WARN_EVERY_S:
            self._warned = now
            log.warning("answer cache (%s) %s failed, answering without it: %s", self.name, what, exc)

    def lookup(self, question: str, history: list[dict[str, str]],
               access: Access) -> tuple[Answer | None, Probe | None]:
        """The cached answer for ``question`` (a hit), or None and the probe to store a fresh one with.

        Follow-ups (any history) neither hit nor store: their meaning depends on the conversation.
        """
        if history:
            return None, None
        t0 = time.perf_counter()
        try:
            probe = Probe(cache_key(self.fp, access), question, self.embedder.embed_query(question), access)
        except Exception as exc:
            self._warn("embedding", exc)
            return None, None
        try:
            found = self._match(probe)
        except Exception as exc:
            self._warn("lookup", exc)
            return None, probe
        if found is None:
            return None, probe
        ms = (time.perf_counter() - t0) * 1000
        return answer_from_json(found.answer, found.id, {"cache": round(ms, 2)}), None

    def _match(self, probe: Probe) -> CacheEntry | None:
        candidates = self.backend.candidates(probe.key)
        if not candidates:
            return None
        sims = np.stack([c[1] for c in candidates]) @ np.asarray(probe.vector, dtype=np.float32)
        asked = terms(probe.question)
        for i in np.argsort(-sims):
            if sims[i] < self.settings.min_similarity:
                return None
            entry_id, _, question = candidates[i]
            if not compatible(asked, terms(question)):
                continue
            entry = self.backend.get(entry_id)
            if entry is None:
                continue
            if time.time() - entry.created_at > self.settings.ttl_s or not self._still_valid(entry):
                self.backend.delete([entry.id])
                continue
            self.backend.touch(entry.id)
            return entry
        return None

    def _still_valid(self, entry: CacheEntry) -> bool:
        """Every source still in the index, unchanged, and readable by the entry's scope."""
        payloads = self.index().payloads(list(entry.sources))
        access = scope_access(entry.scope)
        for chunk_id, doc_hash in entry.sources.items():
            p = payloads.get(chunk_id)
            if p is None or p.get("doc_hash") != doc_hash:
                return False
            if not access.allows(str(p.get("visibility")), list(p.get("groups") or [])):
                return False
        return True

    def store(self, probe: Probe, ans: Answer) -> str | None:
        """File a fresh final answer; returns its entry id (None: not cacheable, or storage failed)."""
        hits = ans.retrieval.hits
        if not ans.answerable or ans.degraded or ans.cached or ans.reused or not hits:
            return None
        entry = CacheEntry(probe.key, probe.question, list(probe.vector), scope_json(probe.access),
                           {h.chunk_id: str(h.payload.get("doc_hash", "")) for h in hits},
                           sorted({h.doc_path for h in hits}), answer_json(ans), ans.model, ans.answer_mode)
        try:
            self.backend.put(entry, ttl_s=self.settings.ttl_s, max_entries=self.settings.max_entries)
        except Exception as exc:
            self._warn("store", exc)
            return None
        return entry.id

    def docs_changed(self, changed: list[str], removed: list[str], added: list[str]) -> int:
        """Evict what an ingest made stale; returns how many entries went."""
        if added:
            return self.backend.clear()
        ids = self.backend.ids_for_docs(sorted({*changed, *removed}))
        return self.backend.delete(ids) if ids else 0

    def evict(self, entry_id: str) -> bool:
        """Drop one entry (thumbs-down, the console); False if it was not there."""
        return self.backend.delete([entry_id]) > 0

    def get(self, entry_id: str) -> CacheEntry | None:
        return self.backend.get(entry_id)

    def entries(self, limit: int = 100) -> list[CacheEntry]:
        return self.backend.entries(limit)

    def clear(self) -> int:
        return self.backend.clear()

    def close(self) -> None:
        self.backend.close()


def build_answer_cache(settings: Settings, embedder: Embedder, index: Callable[[], Index],
                       config: dict[str, Any]) -> AnswerCache | None:
    """The cache the settings describe (SQLite under the data dir, or Redis), or None when off."""
    if not settings.cache.enabled:
        return None
    backend: CacheBackend
    if settings.redis_url:
        from service.answer_cache_redis import RedisBackend

        backend, name = RedisBackend(settings.redis_url), "redis"
    else:
        from service.answer_cache_sqlite import SqliteBackend

        backend, name = SqliteBackend(settings.data_dir / "answer_cache.db"), "sqlite"
    return AnswerCache(backend, embedder, index, settings.cache, fingerprint(config), name)
