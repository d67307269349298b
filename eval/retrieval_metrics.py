"""Retrieval metrics against golden source sections: hit@k, MRR, all-sources recall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.golden import GoldenItem


def matches(payload: dict[str, Any], item: GoldenItem) -> bool:
    """A retrieved chunk matches when it is in a golden doc, under the golden section."""
    path = list(payload.get("heading_path") or [])
    for source in item.sources:
        if payload.get("doc_path") == source.doc and (source.section in path or source.section == payload.get("title")):
            return True
    return False


@dataclass(frozen=True, slots=True)
class RankScore:
    rank: int | None  # 1-based rank of the first matching chunk
    all_sources_found: bool

    def hit(self, k: int) -> bool:
        return self.rank is not None and self.rank <= k

    @property
    def reciprocal_rank(self) -> float:
        return 1.0 / self.rank if self.rank else 0.0

    def reciprocal_rank_at(self, k: int) -> float:
        """MRR@k's term: 1/rank when the first match is in the top k, else 0."""
        return self.reciprocal_rank if self.hit(k) else 0.0


def score_ranking(payloads: Sequence[dict[str, Any]], item: GoldenItem) -> RankScore:
    """Where the first golden section appears, and whether every golden source appears."""
    rank = next((i for i, p in enumerate(payloads, start=1) if matches(p, item)), None)
    found = {(s.doc, s.section) for s in item.sources
             for p in payloads
             if p.get("doc_path") == s.doc and s.section in (list(p.get("heading_path") or []) + [p.get("title")])}
    return RankScore(rank, len(found) == len(item.sources))


def summarise(scores: Sequence[RankScore], ks: Sequence[int] = (1, 3, 5),
              mrr_k: int | None = None) -> dict[str, float]:
    """hit@k for each k, MRR (over the whole ranking, and ``mrr@{mrr_k}`` if asked) and all-sources recall."""
    n = max(len(scores), 1)
    out = {f"hit@{k}": sum(s.hit(k) for s in scores) / n for k in ks}
    out["mrr"] = sum(s.reciprocal_rank for s in scores) / n
    if mrr_k is not None:
        out[f"mrr@{mrr_k}"] = sum(s.reciprocal_rank_at(mrr_k) for s in scores) / n
    out["all_sources"] = sum(s.all_sources_found for s in scores) / n
    return out
