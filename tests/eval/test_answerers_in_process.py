"""In-process answers take the chat route's path, reranker included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from docent.schema import Hit
from eval import golden
from eval.answerers import InProcessAnswerer
from service.runtime import Runtime


class ReversingReranker:
    """A reranker (the service's own Protocol) that reverses the retrieved order and remembers it."""

    def __init__(self) -> None:
        self.returned: list[list[str]] = []

    async def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        reordered = list(reversed(hits))
        self.returned.append([h.chunk_id for h in reordered])
        return reordered


def test_answerers_in_process_use_the_runtime_reranker(make_runtime: Callable[..., Runtime]) -> None:
    """The sample's contexts and citations come from the reranked hits, as in production."""
    runtime = make_runtime()
    item = next(i for i in golden.load() if i.id == "q001")
    reranker = ReversingReranker()
    runtime.reranker = reranker  # the runtime's reranker is the one its Answerer uses
    answerer = InProcessAnswerer(runtime.answerer)

    sample = asyncio.run(answerer(item))
    assert len(reranker.returned) == 1
    assert [c.chunk_id for c in sample.contexts] == reranker.returned[0]
    # echo-cite quotes source [1]: after reranking that is the originally last hit.
    assert sample.answered and sample.citations[0].chunk_id == reranker.returned[0][0]
