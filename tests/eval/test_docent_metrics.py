"""Docent's judge-free metrics: citation validity, abstention correctness, retrieval ranks."""

from __future__ import annotations

from eval.docent_metrics import abstention_correct, citation_validity, retrieval_scores
from eval.golden import GoldenItem, Source
from eval.records import CitationRef, Context, Sample


def _item(kind: str = "factual", visibility: str = "public") -> GoldenItem:
    return GoldenItem("g1", "Q?", "R.", (Source("a.md", "Setup"),), kind, visibility, False)


def _sample(answer: str, *, answered: bool = True, removed: list[int] | None = None) -> Sample:
    contexts = [
        Context("c1", "b.md", "B", ["B", "Other"], "x"),
        Context("c2", "a.md", "A", ["A", "Setup"], "y"),
    ]
    return Sample(
        "g1",
        "Q?",
        answer,
        answered,
        contexts,
        [CitationRef(1, "c2", "a.md", "A", ["A", "Setup"]), CitationRef(2, "zz", "c.md", "C", ["C"])],
        removed_markers=removed or [],
    )


def test_docent_metrics_citation_validity() -> None:
    """Markers pointing at a retrieved source count; removed or unretrieved ones do not."""
    assert citation_validity(_sample("Fact one [1]. Fact two [1].")) == 1.0
    assert citation_validity(_sample("Fact one [1]. Fact two [2].")) == 0.5  # [2]'s chunk was not retrieved
    assert citation_validity(_sample("Fact one [1].", removed=[7])) == 0.5
    assert citation_validity(_sample("No marker.")) == 0.0
    assert citation_validity(_sample("I couldn't find this.", answered=False)) is None


def test_docent_metrics_abstention_and_retrieval() -> None:
    """Unanswerable and internal questions must abstain publicly; ranks count golden sections only."""
    assert abstention_correct(_item(), _sample("Fact [1].")) == 1.0
    assert abstention_correct(_item(), _sample("", answered=False)) == 0.0
    assert abstention_correct(_item("unanswerable"), _sample("", answered=False)) == 1.0
    assert abstention_correct(_item("internal", "internal"), _sample("Leak [1].")) == 0.0
    assert retrieval_scores(_item(), _sample("x")) == {"hit@1": 0.0, "hit@3": 1.0, "hit@5": 1.0, "mrr": 0.5}
    assert retrieval_scores(_item("unanswerable"), _sample("x"))["mrr"] is None
