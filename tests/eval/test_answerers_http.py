"""--url: answers come from a server's API, with the same contexts and citations as in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from eval import golden
from eval.answerers import HttpAnswerer, InProcessAnswerer
from eval.records import Sample
from service.app import create_app
from service.runtime import Runtime


def test_answerers_http_matches_in_process(make_runtime: Callable[..., Runtime]) -> None:
    """Over HTTP a question gets the in-process answer, citations and retrieved contexts; follow-ups replay."""
    runtime = make_runtime(rewrite="concat")
    app = create_app(runtime.settings, runtime=runtime)
    app.state.runtime = runtime  # ASGITransport does not run the lifespan
    items = {i.id: i for i in golden.load()}

    async def both(item: golden.GoldenItem) -> tuple[Sample, Sample]:
        remote = HttpAnswerer("http://docent.test", transport=httpx.ASGITransport(app=app))
        try:
            local = InProcessAnswerer(runtime.answerer)
            return await remote(item), await local(item)
        finally:
            await remote.aclose()

    remote, local = asyncio.run(both(items["q001"]))
    assert remote.error is None and remote.answered == local.answered
    assert remote.answer == local.answer
    assert [c.chunk_id for c in remote.citations] == [c.chunk_id for c in local.citations]
    # Hits tied at the cut-off can swap between two searches; the ranked head cannot.
    assert [c.chunk_id for c in remote.contexts][:4] == [c.chunk_id for c in local.contexts][:4]

    follow, local_follow = asyncio.run(both(items["q059"]))  # "And on Windows?" after a Linux question
    assert follow.history and follow.rewritten_query == local_follow.rewritten_query
    assert "Linux" in follow.rewritten_query


def test_answerers_http_unreachable_is_an_error_sample() -> None:
    """A server that cannot be reached yields a failed sample, not an exception."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async def ask() -> Sample:
        answerer = HttpAnswerer("http://nowhere.test", transport=httpx.MockTransport(refuse))
        try:
            return await answerer(golden.load()[0])
        finally:
            await answerer.aclose()

    sample = asyncio.run(ask())
    assert sample.error and "cannot reach" in sample.error and not sample.answered
