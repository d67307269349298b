"""Reference contexts: the text of each golden source section, chunked as ingest chunks it.

The non-LLM context metrics compare retrieved chunks with these strings, so they are
cut with the same splitter and chunk size as the index.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from eval.golden import GoldenItem
from eval.retrieval_metrics import matches
from ingest.documents import Document, read_document
from ingest.pipeline import chunk_document


class ReferenceTexts:
    """Golden section texts read from the docs folder (each document read once)."""

    def __init__(self, docs_dir: Path, base_url: str = "/docs", max_words: int = 180) -> None:
        self.docs_dir = docs_dir
        self.base_url = base_url
        self.max_words = max_words
        self._chunks = cache(self._read)

    def _read(self, doc_path: str) -> list[dict[str, object]]:
        path = self.docs_dir / doc_path
        if not path.is_file():
            return []
        doc = read_document(path, self.docs_dir, self.base_url)
        if not isinstance(doc, Document):
            return []
        return [chunk.payload(cid) for cid, chunk in chunk_document(doc, self.max_words).items()]

    def for_item(self, item: GoldenItem) -> list[str]:
        """The chunks under the item's golden sections, in document order."""
        out: list[str] = []
        for doc in sorted(item.docs):
            out.extend(str(p["text"]) for p in self._chunks(doc) if matches(p, item))
        return out
