"""A citation whose URL is `javascript:` (a doc's front matter may say anything) is text, never a link."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.schema import Access
from service.app import create_app
from service.retrieval import Retrieval, Retriever
from tests.service.live_server import serving
from tests.widget.conftest import ANSWERABLE, STAFF_KEY, ask, build_runtime, open_widget, wait_answer, wire

pytestmark = pytest.mark.slow  # needs a browser

EVIL = "java\tscript:document.title='pwned'//"
ALL_HREFS = """(root) => [...root.querySelectorAll('[href]')].map(e => e.getAttribute('href'))"""


class EvilUrlRetriever(Retriever):
    """The real retriever, but every hit's page URL is a script URL, as a hostile front matter would give."""

    def search(self, query: str, access: Access, top_k: int) -> Retrieval:
        found = super().search(query, access, top_k)
        found.hits = [dataclasses.replace(h, payload={**h.payload, "url": EVIL}) for h in found.hits]
        return found


@pytest.fixture(scope="module")
def evil_url(corpus_store: tuple[Path, EdgeStore], embedder: Embedder,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server whose answers cite sources with a javascript: URL."""
    _, store = corpus_store
    data = tmp_path_factory.mktemp("evil")
    runtime = build_runtime(data, store, embedder, origins=["http://127.0.0.1"])
    runtime.retriever = EvilUrlRetriever(runtime.store, embedder, runtime.retriever.sparse)
    with serving(wire(create_app(runtime.settings, runtime=runtime), runtime.settings)) as url:
        runtime.settings.widget.sites[0].allowed_origins.append(url)
        yield url
    runtime.conversations.close()


def test_url_schemes_widget_renders_javascript_citation_as_text(page: Page, evil_url: str) -> None:
    """The sources list and the source card show the title as text; no element carries the script URL."""
    open_widget(page, evil_url + "/")
    ask(page, ANSWERABLE)
    answer = wait_answer(page)
    sources = answer.get_by_role("list", name="Sources")
    expect(sources.locator("li").first).not_to_be_empty()
    expect(sources.get_by_role("link")).to_have_count(0)
    cite = answer.get_by_role("button", name=re.compile(r"^Source 1: "))
    cite.click()
    card = answer.get_by_role("region", name=re.compile(r"^Source 1: "))
    expect(card).to_contain_text("Open page")
    expect(card.get_by_role("link")).to_have_count(0)
    hrefs = page.evaluate(f"() => ({ALL_HREFS})(document.querySelector('docent-widget').shadowRoot)")
    assert not [h for h in hrefs if "script" in h.lower()], hrefs
    assert page.title() != "pwned"


def test_url_schemes_console_renders_javascript_citation_as_text(page: Page, evil_url: str) -> None:
    """The console lists the citation with its URL as plain text, not as a link."""
    page.goto(evil_url + "/console")
    page.get_by_label("Staff API key").fill(STAFF_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Question").fill(ANSWERABLE)
    page.get_by_role("button", name="Ask", exact=True).click()
    cites = page.locator("#detail ol.cites")
    expect(cites).to_contain_text("script:document.title")
    expect(cites.get_by_role("link")).to_have_count(0)
    hrefs = page.evaluate(f"() => ({ALL_HREFS})(document)")
    assert not [h for h in hrefs if "script" in h.lower()], hrefs
    assert page.title() != "pwned"
