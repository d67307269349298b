"""The chunk and payload schema shared by the writer (ingest) and the readers (service, eval).

A point in the index is one chunk. Its id is derived from the document path and the
hash of what was embedded, so re-ingesting unchanged content is a no-op and a crashed
run converges to the same ids on the next run.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Visibility = Literal["public", "internal"]
VISIBILITIES: tuple[Visibility, ...] = ("public", "internal")

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "bm25"
# Payload fields that get keyword indexes (filters and per-doc bookkeeping).
KEYWORD_FIELDS = ("doc_path", "visibility", "groups", "doc_hash")
# The fields a bookkeeping scroll needs; the rest stays on disk.
BOOKKEEPING_FIELDS = ["doc_path", "doc_hash"]

_NAMESPACE = uuid.UUID("5b1f0c3e-8a7d-4c0e-9a55-0d0c3e7a1f42")


def sha256_hex(text: str) -> str:
    """Hex sha256 of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def point_id(doc_path: str, content_hash: str, occurrence: int) -> str:
    """Deterministic point id: same doc, same embedded text, same occurrence -> same id.

    ``occurrence`` separates identical chunks inside one document; position alone is
    not used, so inserting a section at the top does not re-embed everything below it.
    """
    return str(uuid.uuid5(_NAMESPACE, f"{doc_path}\x00{content_hash}\x00{occurrence}"))


@dataclass(frozen=True, slots=True)
class Access:
    """What a caller may read: visibilities, and groups for group-restricted internal docs.

    Internal chunks with no groups are open to every staff caller; internal chunks
    with groups need one of them. Public chunks ignore groups.
    """

    visibilities: frozenset[Visibility] = frozenset({"public"})
    groups: frozenset[str] = frozenset()
    # Admins see every group without listing them.
    all_groups: bool = False

    @classmethod
    def public(cls) -> Access:
        return cls()

    @classmethod
    def staff(cls, groups: frozenset[str] = frozenset(), *, all_groups: bool = False) -> Access:
        return cls(frozenset({"public", "internal"}), groups, all_groups)

    def allows(self, visibility: str, groups: list[str] | tuple[str, ...]) -> bool:
        """The same rule the index filter applies, for checks after retrieval."""
        if visibility not in self.visibilities:
            return False
        if visibility == "public" or not groups or self.all_groups:
            return True
        return bool(self.groups.intersection(groups))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One retrievable unit: the text plus everything needed to cite it."""

    doc_path: str  # relative to the docs folder, POSIX separators
    title: str
    heading_path: tuple[str, ...]
    anchor: str
    url: str
    visibility: Visibility
    groups: tuple[str, ...]
    text: str  # the section text shown to the model and in citations
    position: int  # order within the document
    doc_hash: str  # hash of the whole source document (its version)
    doc_version: str

    @property
    def embed_text(self) -> str:
        """What is embedded: title and heading path make the chunk understandable alone."""
        path = " > ".join(self.heading_path)
        head = f"{self.title} > {path}" if path and path != self.title else self.title
        return f"{head}\n\n{self.text}"

    @property
    def content_hash(self) -> str:
        return sha256_hex(self.embed_text)

    def payload(self, chunk_id: str) -> dict[str, Any]:
        """The stored payload (pydantic-free: this crosses into the index adapter)."""
        return {
            "chunk_id": chunk_id,
            "doc_path": self.doc_path,
            "title": self.title,
            "heading_path": list(self.heading_path),
            "anchor": self.anchor,
            "url": self.url,
            "visibility": self.visibility,
            "groups": list(self.groups),
            "text": self.text,
            "position": self.position,
            "content_hash": self.content_hash,
            "doc_hash": self.doc_hash,
            "doc_version": self.doc_version,
        }


@dataclass(slots=True)
class IndexedPoint:
    """A chunk ready for the index: id, vectors, payload."""

    id: str
    dense: list[float]
    sparse_indices: list[int]
    sparse_values: list[float]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result as readers see it."""

    chunk_id: str
    score: float
    payload: dict[str, Any]
    # Dense cosine similarity to the query, whatever the ranking score was.
    similarity: float = 0.0

    @property
    def doc_path(self) -> str:
        return str(self.payload.get("doc_path", ""))

    @property
    def text(self) -> str:
        return str(self.payload.get("text", ""))

    @property
    def section(self) -> str:
        """The heading path below the page title, as prompts label a source ("A > B")."""
        path = list(self.payload.get("heading_path") or [])
        return " > ".join(path[1:] if len(path) > 1 else path)


@dataclass(frozen=True, slots=True)
class IndexMeta:
    """Recorded with each collection so a different embedder cannot write into it."""

    embed_model: str
    dim: int
    schema_version: int = 1
