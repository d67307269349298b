"""BM25 sparse vectors computed locally with qdrant-edge's Bm25.

It needs no model download and yields the same token ids as Qdrant's server-side
BM25, so the embedded and server backends index identical sparse vectors.
"""

from __future__ import annotations

import qdrant_edge as qe


class Bm25Encoder:
    """Document vectors carry term frequencies; the index applies IDF at query time."""

    def __init__(self, avg_len: float = 160.0) -> None:
        # avg_len ~ our chunk length in tokens (chunks are capped near 180 words).
        self._model = qe.Bm25(qe.Bm25Config(avg_len=avg_len, language="english"))

    def document(self, text: str) -> tuple[list[int], list[float]]:
        vec = self._model.embed_document(text)
        return list(vec.indices), list(vec.values)

    def query(self, text: str) -> tuple[list[int], list[float]]:
        vec = self._model.embed_query(text)
        return list(vec.indices), list(vec.values)
