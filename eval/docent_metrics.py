"""Docent's own per-question metrics, computed in code from one answer (no judge needed).

- retrieval hit@k and MRR against the golden source sections (public answerable questions);
- citation validity: the share of markers that point at a retrieved source (markers the
  pipeline had to remove count as invalid);
- abstention correctness: unanswerable and internal-only questions abstain on the
  public path, answerable ones do not;
- grounding: the grounding verifier's supported share of the model's checked claims
  (``service/grounding.py``, reported by the answer itself; milliseconds, no judge);
- gold cited: whether any citation points at a golden source section;
- reference recall: the share of the reference answer's content words the answer uses.
"""

from __future__ import annotations

import re

from eval.golden import GoldenItem
from eval.records import Sample
from eval.retrieval_metrics import matches, score_ranking
from service.citations import content_words

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def retrieval_scores(item: GoldenItem, sample: Sample) -> dict[str, float | None]:
    """hit@1/3/5 and reciprocal rank; None where the question has no public golden source."""
    if not item.answerable_publicly or not item.sources or sample.error:
        return {"hit@1": None, "hit@3": None, "hit@5": None, "mrr": None}
    payloads = [
        {"doc_path": c.doc_path, "heading_path": c.heading_path, "title": c.title} for c in sample.contexts
    ]
    rank = score_ranking(payloads, item)
    return {
        "hit@1": float(rank.hit(1)),
        "hit@3": float(rank.hit(3)),
        "hit@5": float(rank.hit(5)),
        "mrr": rank.reciprocal_rank,
    }


def markers(text: str) -> list[int]:
    """Every marker number in ``text``, in order (``[1][2]`` and ``[1, 2]`` both count twice)."""
    return [int(n) for group in _MARKER.findall(text) for n in re.split(r"\s*,\s*", group)]


def citation_validity(sample: Sample) -> float | None:
    """Valid markers / all markers the model wrote; None for abstentions."""
    if not sample.answered or sample.error:
        return None
    retrieved = {c.chunk_id for c in sample.contexts}
    found = markers(sample.answer)
    valid = sum(
        1 for n in found if 1 <= n <= len(sample.citations) and sample.citations[n - 1].chunk_id in retrieved
    )
    total = len(found) + len(sample.removed_markers)
    return valid / total if total else 0.0


def abstention_correct(item: GoldenItem, sample: Sample) -> float | None:
    """1.0 when the public path answered exactly the questions it should; None on errors."""
    if sample.error:
        return None
    return float(sample.answered == item.answerable_publicly)


def grounding(sample: Sample) -> float | None:
    """The verifier's supported share of the model's checked claims, before withdrawal.

    Kept for abstentions too: an answer withdrawn for too many unsupported claims is
    exactly what this measures. None on errors, when nothing was checked, or when the
    answerer (an older server) did not report it.
    """
    if sample.error or sample.grounding is None:
        return None
    return min(max(float(sample.grounding), 0.0), 1.0)


def gold_cited(item: GoldenItem, sample: Sample) -> float | None:
    """1.0 when a citation is in a golden source section; None unless the question should be
    and was answered (and has golden sources)."""
    if not item.answerable_publicly or not item.sources or not sample.answered or sample.error:
        return None
    return float(any(
        matches({"doc_path": c.doc_path, "heading_path": c.heading_path, "title": c.title}, item)
        for c in sample.citations
    ))


def reference_recall(item: GoldenItem, sample: Sample) -> float | None:
    """Share of the reference answer's distinct content words (``service.citations.content_words``,
    exact lower-cased tokens) that the answer contains; None without a reference, for
    questions that should abstain, and for answers that abstained or failed."""
    if not item.answerable_publicly or not sample.answered or sample.error:
        return None
    wanted = set(content_words(item.reference))
    if not wanted:
        return None
    found = set(content_words(_MARKER.sub(" ", sample.answer)))
    return len(wanted & found) / len(wanted)


def deterministic_scores(item: GoldenItem, sample: Sample) -> dict[str, float | None]:
    """Every judge-free Docent metric for one answer."""
    return {
        **retrieval_scores(item, sample),
        "citation_validity": citation_validity(sample),
        "abstention_correct": abstention_correct(item, sample),
        "grounding": grounding(sample),
        "gold_cited": gold_cited(item, sample),
        "reference_recall": reference_recall(item, sample),
    }
