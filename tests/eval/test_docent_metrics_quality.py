"""Judge-free answer quality: grounding, gold cited, reference recall; and the HTTP answerer's fields."""

from __future__ import annotations

import asyncio
import json

import httpx

from eval.answerers import HttpAnswerer
from eval.docent_metrics import deterministic_scores, gold_cited, grounding, reference_recall
from eval.golden import GoldenItem, Source
from eval.records import CitationRef, Context, Sample


def _item(kind: str = "factual", reference: str = "Set proxy.url to a socks5 address; port 1080.") -> GoldenItem:
    return GoldenItem("g1", "Q?", reference, (Source("guide/proxies.md", "SOCKS5"),), kind, "public", False)


def _sample(answer: str, cited: list[tuple[str, list[str]]], *, answered: bool = True,
            grounding_share: float | None = None, error: str | None = None) -> Sample:
    return Sample("g1", "Q?", answer, answered, [Context("c1", "guide/proxies.md", "Proxies", ["Proxies"], "x")],
                  [CitationRef(n, f"c{n}", doc, "Proxies", path) for n, (doc, path) in enumerate(cited, start=1)],
                  grounding=grounding_share, error=error)


def test_gold_cited_matches_golden_sections() -> None:
    """Any citation in a golden section counts; other sections, abstentions and unanswerables do not."""
    gold = ("guide/proxies.md", ["Proxies", "SOCKS5"])
    other = ("guide/proxies.md", ["Proxies", "HTTP proxies"])
    assert gold_cited(_item(), _sample("A [1] [2].", [other, gold])) == 1.0
    assert gold_cited(_item(), _sample("A [1].", [other])) == 0.0
    assert gold_cited(_item(), _sample("A.", [])) == 0.0
    assert gold_cited(_item(), _sample("I couldn't find this.", [], answered=False)) is None
    assert gold_cited(_item("unanswerable"), _sample("A [1].", [gold])) is None
    assert gold_cited(_item(), _sample("", [], error="boom")) is None


def test_reference_recall_counts_reference_words() -> None:
    """Share of the reference's distinct content words in the answer (markers ignored)."""
    item = _item()  # content words: proxy.url, socks5, address, port, 1080
    assert reference_recall(item, _sample("Set proxy.url to a socks5 address; the port is 1080 [1].", [])) == 1.0
    assert reference_recall(item, _sample("Use a socks5 proxy on port 1080 [1].", [])) == 0.6
    assert reference_recall(item, _sample("Nothing relevant here [1].", [])) == 0.0
    assert reference_recall(item, _sample("I couldn't find this.", [], answered=False)) is None
    assert reference_recall(_item(reference=""), _sample("Set proxy.url [1].", [])) is None
    assert reference_recall(_item("unanswerable"), _sample("Set proxy.url [1].", [])) is None


def test_grounding_comes_from_the_answer() -> None:
    """The answer's own verifier share, kept for withdrawn answers; None when unreported or failed."""
    assert grounding(_sample("A [1].", [], grounding_share=0.75)) == 0.75
    assert grounding(_sample("withdrawn", [], answered=False, grounding_share=0.2)) == 0.2
    assert grounding(_sample("A [1].", [])) is None
    assert grounding(_sample("", [], grounding_share=1.0, error="boom")) is None
    scores = deterministic_scores(_item(), _sample("Set proxy.url [1].", [("guide/proxies.md", ["SOCKS5"])],
                                                   grounding_share=1.0))
    assert {k: scores[k] for k in ("grounding", "gold_cited")} == {"grounding": 1.0, "gold_cited": 1.0}


def test_http_answerer_reads_grounding_and_tolerates_its_absence() -> None:
    """A server reporting the verifier's fields fills them; an older one leaves the defaults."""
    def server(extra: dict[str, object]) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/v1/search":
                return httpx.Response(200, json={"results": [
                    {"chunk_id": "c1", "doc_path": "a.md", "title": "A", "heading_path": ["A"], "text": "t"}]})
            body = {"answer": "A [1].", "answerable": True, "conversation_id": "x", "citations": [
                {"marker": 1, "chunk_id": "c1", "doc_path": "a.md", "title": "A", "heading_path": ["A"], "url": ""}]}
            return httpx.Response(200, content=json.dumps({**body, **extra}))
        return httpx.MockTransport(handle)

    async def ask(extra: dict[str, object]) -> Sample:
        answerer = HttpAnswerer("http://docent.test", transport=server(extra))
        try:
            return await answerer(_item())
        finally:
            await answerer.aclose()

    new = asyncio.run(ask({"grounding": 0.5, "unsupported_sentences": ["Port 9."], "answer_mode": "generative"}))
    assert (new.grounding, new.unsupported_sentences, new.answer_mode) == (0.5, ["Port 9."], "generative")
    old = asyncio.run(ask({}))
    assert old.error is None and (old.grounding, old.unsupported_sentences, old.answer_mode) == (None, [], "")
