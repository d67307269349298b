"""Synthetic index contents at 10k-100k chunks without embedding 100k texts.

Each synthetic chunk is a copy of a real chunk: its text has ~15% of its words swapped
for other corpus words (so BM25 statistics stay realistic), its dense vector is the
real chunk's embedding plus small gaussian noise, renormalised (so the vectors keep
the corpus's geometry), and its payload is Docent's own ``Chunk.payload`` under a
synthetic page path, with a visibility mix of ~80% public / ~20% internal and group
restrictions on part of the internal pages.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from docent.schema import Chunk, IndexedPoint, Visibility, point_id, sha256_hex
from docent.sparse import Bm25Encoder

_WORD = re.compile(r"\b[A-Za-z]{4,}\b")
INTERNAL_SHARE = 0.2
# Internal pages: open to all staff, or to one of these group sets.
INTERNAL_GROUPS: tuple[tuple[str, ...], ...] = ((), ("support",), ("billing",), ("sre", "support"))


@dataclass(slots=True)
class SyntheticSet:
    """``n`` points held compactly; ``batches`` builds ``IndexedPoint`` lists on demand."""

    ids: list[str]
    dense: np.ndarray  # (n, dim) float32, unit rows
    sparse: list[tuple[list[int], list[float]]]
    payloads: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def batches(self, size: int) -> Iterator[list[IndexedPoint]]:
        for start in range(0, len(self), size):
            stop = min(start + size, len(self))
            yield [IndexedPoint(self.ids[i], self.dense[i].tolist(), self.sparse[i][0], self.sparse[i][1],
                                self.payloads[i]) for i in range(start, stop)]

    @property
    def internal_share(self) -> float:
        internal = sum(p["visibility"] == "internal" for p in self.payloads)
        return float(internal) / max(len(self), 1)


def _perturb(text: str, vocab: list[str], rng: random.Random, rate: float) -> str:
    return _WORD.sub(lambda m: rng.choice(vocab) if rng.random() < rate else m.group(0), text)


def _copy_path(doc_path: str, copy: int) -> str:
    path = PurePosixPath(doc_path)
    return str(path.with_name(f"{path.stem}-{copy:05d}{path.suffix}"))


def _copy_url(url: str, copy: int) -> str:
    page, _, anchor = url.partition("#")
    return f"{page}-{copy:05d}#{anchor}" if anchor else f"{page}-{copy:05d}"


def _access(rng: random.Random) -> tuple[Visibility, tuple[str, ...]]:
    if rng.random() >= INTERNAL_SHARE:
        return "public", ()
    return "internal", rng.choice(INTERNAL_GROUPS)


def _synthetic_chunks(chunks: list[Chunk], n: int, rng: random.Random,
                      rate: float) -> Iterator[tuple[int, Chunk]]:
    """(index of the source chunk, synthetic chunk), page by page, until ``n``."""
    vocab = sorted({m.group(0) for c in chunks for m in _WORD.finditer(c.text)})
    pages: dict[str, list[int]] = {}
    for i, chunk in enumerate(chunks):
        pages.setdefault(chunk.doc_path, []).append(i)
    emitted = 0
    for copy in range(n):  # bounded: every pass emits at least one chunk
        for doc_path, members in pages.items():
            path = _copy_path(doc_path, copy)
            visibility, groups = _access(rng)
            doc_hash = sha256_hex(f"{path}:{copy}")
            for i in members:
                if emitted == n:
                    return
                source = chunks[i]
                yield i, replace(source, doc_path=path, url=_copy_url(source.url, copy),
                                 visibility=visibility, groups=groups,
                                 text=_perturb(source.text, vocab, rng, rate),
                                 doc_hash=doc_hash, doc_version=doc_hash[:12])
                emitted += 1


def make_synthetic(chunks: list[Chunk], vectors: np.ndarray, n: int, *, noise: float = 0.02,
                   word_swap_rate: float = 0.15, seed: int = 13) -> SyntheticSet:
    """``n`` realistic-looking points derived from ``chunks`` and their real ``vectors``."""
    rng = random.Random(seed)
    bm25 = Bm25Encoder()
    ids: list[str] = []
    sources: list[int] = []
    sparse: list[tuple[list[int], list[float]]] = []
    payloads: list[dict[str, Any]] = []
    for source, chunk in _synthetic_chunks(chunks, n, rng, word_swap_rate):
        pid = point_id(chunk.doc_path, chunk.content_hash, 0)
        ids.append(pid)
        sources.append(source)
        sparse.append(bm25.document(chunk.embed_text))
        payloads.append(chunk.payload(pid))
    jitter = np.random.default_rng(seed).normal(0.0, noise, (n, vectors.shape[1]))
    noisy = vectors[np.asarray(sources)] + jitter
    dense = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    return SyntheticSet(ids, dense, sparse, payloads)
