"""What the answer cache stores, and the interface its backends (SQLite, Redis) implement.

An entry is plain JSON: the question, its embedding, the access scope it was answered
for, every retrieved source with its ``doc_hash`` (cited or not) and the answer itself,
with enough of each source's payload to rebuild an ``Answer`` without the index.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from docent.schema import Access, Hit
from service.answer import Answer, Citation
from service.retrieval import Retrieval

SNIPPET_CHARS = 1200  # of each source's text kept in an entry (enough for the sources list's snippet)
_PAYLOAD_FIELDS = ("chunk_id", "doc_path", "title", "heading_path", "anchor", "url", "visibility", "groups",
                   "doc_hash")


def scope_json(access: Access) -> dict[str, Any]:
    """An access scope as JSON; equal scopes give equal JSON (groups sorted)."""
    return {"visibilities": sorted(access.visibilities), "groups": sorted(access.groups),
            "all_groups": access.all_groups}


def scope_access(scope: dict[str, Any]) -> Access:
    """The :class:`Access` a stored scope stands for."""
    return Access(frozenset(scope["visibilities"]), frozenset(scope["groups"]), bool(scope["all_groups"]))


def scope_label(scope: dict[str, Any]) -> str:
    """How the console names a scope: ``public``, ``staff (all groups)`` or ``staff [a, b]``."""
    if "internal" not in scope["visibilities"]:
        return "public"
    if scope["all_groups"]:
        return "staff (all groups)"
    return f"staff [{', '.join(scope['groups'])}]"


@dataclass(slots=True)
class CacheEntry:
    """One cached answer and what it was built from."""

    key: str  # scope + model + answer mode + prompt, verifier and config versions (answer_cache.cache_key)
    question: str
    vector: list[float]
    scope: dict[str, Any]
    sources: dict[str, str]  # chunk id -> doc_hash, for every retrieved hit
    doc_paths: list[str]
    answer: dict[str, Any]
    model: str = ""
    answer_mode: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = field(default_factory=time.time)
    hits: int = 0
    last_hit_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CacheEntry:
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        """What the console lists (no vector, the answer cut short)."""
        return {"id": self.id, "question": self.question, "scope": scope_label(self.scope), "model": self.model,
                "answer_mode": self.answer_mode, "created_at": self.created_at, "hits": self.hits,
                "last_hit_at": self.last_hit_at, "doc_paths": self.doc_paths,
                "answer": str(self.answer.get("text", ""))[:300]}


def _hit_json(hit: Hit) -> dict[str, Any]:
    payload = {k: hit.payload[k] for k in _PAYLOAD_FIELDS if k in hit.payload}
    payload["text"] = hit.text[:SNIPPET_CHARS]
    return {"chunk_id": hit.chunk_id, "score": hit.score, "similarity": hit.similarity, "payload": payload}


def answer_json(ans: Answer) -> dict[str, Any]:
    """A final answer as JSON: what a hit needs to rebuild it (timings and the query embedding left out)."""
    return {"text": ans.text, "citations": [asdict(c) for c in ans.citations],
            "rewritten_query": ans.rewritten_query, "query": ans.retrieval.query,
            "hits": [_hit_json(h) for h in ans.retrieval.hits], "model": ans.model,
            "prompt_tokens": ans.prompt_tokens, "completion_tokens": ans.completion_tokens,
            "fallback_used": ans.fallback_used, "uncited_sentences": ans.uncited_sentences,
            "unsupported_sentences": ans.unsupported_sentences, "grounding": ans.grounding,
            "answer_mode": ans.answer_mode, "removed_markers": ans.removed_markers}


def answer_from_json(data: dict[str, Any], entry_id: str, timings_ms: dict[str, float]) -> Answer:
    """The stored answer, marked ``cached``; no model was called for it."""
    hits = [Hit(h["chunk_id"], float(h["score"]), dict(h["payload"]), float(h["similarity"])) for h in data["hits"]]
    citations = [Citation(**c) for c in data["citations"]]
    return Answer(data["text"], True, citations, data["rewritten_query"], Retrieval(data["query"], hits),
                  model=data["model"], prompt_tokens=0, completion_tokens=0, fallback_used=data["fallback_used"],
                  uncited_sentences=list(data["uncited_sentences"]),
                  unsupported_sentences=list(data["unsupported_sentences"]), grounding=data["grounding"],
                  answer_mode=data["answer_mode"], removed_markers=list(data["removed_markers"]),
                  timings_ms=timings_ms, cached=True, cache_id=entry_id)


class CacheBackend(Protocol):
    """Where entries live. Every method may raise on a storage failure; the cache logs it."""

    def candidates(self, key: str) -> list[tuple[str, npt.NDArray[np.float32], str]]:
        """(id, vector, question) of every live entry under ``key`` (vectors as stored: no list round trip)."""
        ...

    def get(self, entry_id: str) -> CacheEntry | None: ...

    def put(self, entry: CacheEntry, *, ttl_s: int, max_entries: int) -> None:
        """Store ``entry``; past ``max_entries`` the least recently used go."""
        ...

    def touch(self, entry_id: str) -> None:
        """Count a hit (and keep the entry from the LRU end)."""
        ...

    def delete(self, ids: list[str]) -> int: ...

    def ids_for_docs(self, doc_paths: list[str]) -> list[str]:
        """Entries built from any of these docs (cited or only retrieved)."""
        ...

    def entries(self, limit: int) -> list[CacheEntry]:
        """The most recently used entries first."""
        ...

    def clear(self) -> int: ...

    def close(self) -> None: ...
