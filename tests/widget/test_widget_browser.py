"""The widget in a real browser (Debian's Chromium) against the real app on a loopback port: the main flows."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.conversations import conversations
from tests.widget.conftest import (
    ANSWERABLE,
    INTERNAL_Q,
    INTERNAL_TITLE,
    MOBILE,
    OFF_TOPIC,
    SITE,
    SUPPORT_URL,
    LiveApp,
    ask,
    open_widget,
    wait_answer,
)

pytestmark = pytest.mark.slow  # needs a browser

# Records the growing answer text and whether the typing indicator was shown, as the DOM changes.
WATCH = """() => { window.__seen = []; const root = document.querySelector('docent-widget').shadowRoot;
  new MutationObserver(() => { const bots = root.querySelectorAll('article.bot');
    const last = bots[bots.length - 1]; if (!last) return;
    window.__seen.push({len: last.querySelector('.body').textContent.length, typing: !!last.querySelector('.typing')});
  }).observe(root, {subtree: true, childList: true, characterData: true}); }"""


@pytest.fixture(scope="module")
def app(live_app: Callable[..., LiveApp]) -> LiveApp:
    return live_app()


def test_widget_streams_answer_and_opens_citation(page: Page, live_app: Callable[..., LiveApp],
                                                  artifacts: Path) -> None:
    """Open the bubble, ask: typing dots, then text growing sentence by verified sentence; a marker opens its source."""
    app = live_app(model="docent-fake/echo-source")  # four sentences of source 1
    open_widget(page, app.url + "/")
    expect(page.get_by_role("textbox", name="Your question")).to_be_focused()
    expect(page.get_by_role("dialog")).to_have_accessible_name("Pylon help")
    page.evaluate(WATCH)
    ask(page, ANSWERABLE)
    answer = wait_answer(page)
    seen = page.evaluate("window.__seen")
    assert any(s["typing"] for s in seen), "no typing indicator"
    streamed = sorted({s["len"] for s in seen if not s["typing"] and s["len"]})
    assert len(streamed) >= 2, f"answer did not stream: {streamed}"
    assert int(answer.get_attribute("data-deltas")) >= 2
    cite = answer.get_by_role("button", name=re.compile(r"^Source 1: ")).first  # every sentence cites it
    cite.click()
    expect(cite).to_have_attribute("aria-expanded", "true")
    card = answer.get_by_role("region", name=re.compile(r"^Source 1: "))
    expect(card).to_be_visible()
    link = card.get_by_role("link", name="Open page")
    assert re.search(r"#[a-z0-9-]+$", link.get_attribute("href") or "")
    assert card.locator("p").inner_text().strip()
    sources = answer.get_by_role("list", name="Sources")
    expect(sources.get_by_role("link")).to_have_count(1)
    page.screenshot(path=str(artifacts / "widget-desktop.png"))
    # The cited page opens at the cited section, served by /docs when the URL is ours.
    href = link.get_attribute("href") or ""
    if href.startswith("/docs/"):
        page.goto(app.url + href)
        expect(page.locator(f"[id='{href.split('#')[1]}']")).to_be_visible()


def test_widget_mobile_viewport_fills_screen(browser: Any, app: LiveApp, artifacts: Path) -> None:
    """On a 390 px phone the panel takes the whole viewport and still answers."""
    context = browser.new_context(viewport=MOBILE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app.url + "/")
        page.screenshot(path=str(artifacts / "widget-mobile-closed.png"))
        page.get_by_role("button", name=re.compile("^Open chat")).tap()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box and box["width"] == MOBILE["width"] and box["height"] >= MOBILE["height"] - 1
        ask(page, ANSWERABLE)
        wait_answer(page).get_by_role("button", name=re.compile(r"^Source 1")).tap()
        page.screenshot(path=str(artifacts / "widget-mobile.png"))
        page.get_by_role("button", name="Close chat").tap()
        expect(page.get_by_role("button", name=re.compile("^Open chat"))).to_be_visible()
    finally:
        context.close()


def test_widget_abstention_shows_handoff(page: Page, live_app: Callable[..., LiveApp], artifacts: Path) -> None:
    """When the model declines, the answer says so and offers the support link from settings."""
    declining = live_app(model="docent-fake/abstain")
    open_widget(page, declining.url + "/")
    ask(page, ANSWERABLE)
    answer = wait_answer(page)
    expect(answer).to_contain_text("Not in the documentation")
    expect(answer.get_by_role("link", name="Open a ticket")).to_have_attribute("href", SUPPORT_URL)
    expect(answer.get_by_role("button", name=re.compile("^Source"))).to_have_count(0)
    ask(page, OFF_TOPIC)  # abstains before the model: low similarity
    expect(wait_answer(page, 2).get_by_role("link", name="Open a ticket")).to_be_visible()
    page.screenshot(path=str(artifacts / "widget-abstention.png"))


def test_widget_feedback_stored_with_snapshot(page: Page, app: LiveApp) -> None:
    """Thumbs down with a comment is stored server-side with question, answer, citations and model."""
    open_widget(page, app.url + "/")
    ask(page, ANSWERABLE)
    answer = wait_answer(page)
    answer.get_by_role("button", name="Not helpful").click()
    expect(answer.get_by_role("button", name="Not helpful")).to_have_attribute("aria-pressed", "true")
    answer.get_by_role("textbox", name="Comment (optional)").fill("Missing the file permissions")
    answer.get_by_role("button", name="Send feedback").click()
    expect(answer.get_by_role("status")).to_have_text("Thanks for the feedback!")
    stored = [f for f in app.runtime.conversations.recent_feedback(rating=-1)
              if f["comment"] == "Missing the file permissions"]
    assert len(stored) == 1
    snap = stored[0]["snapshot"]
    assert snap["question"] == ANSWERABLE and "[1]" in snap["answer"]
    assert snap["meta"]["model"] == "docent-fake/echo-cite" and snap["meta"]["citations"]


def test_widget_conversation_kept_per_tab_and_new_conversation(page: Page, app: LiveApp) -> None:
    """The conversation survives a reload (sessionStorage); Escape closes; "New conversation" clears it."""
    open_widget(page, app.url + "/")
    ask(page, ANSWERABLE)
    wait_answer(page)
    cid = page.evaluate(f"JSON.parse(sessionStorage.getItem('docent:{SITE}:conv')).id")
    assert cid
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()  # it was open: it reopens, without stealing focus
    wait_answer(page)
    ask(page, "And which port does SOCKS5 use by default?")
    wait_answer(page, 2)
    assert page.evaluate(f"JSON.parse(sessionStorage.getItem('docent:{SITE}:conv')).id") == cid
    assert len(app.runtime.conversations.history(cid, next(iter(_scopes(app, cid))), 10)) == 4
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("^Open chat"))).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("docent-widget article.bot")).to_have_count(0)
    assert page.evaluate(f"JSON.parse(sessionStorage.getItem('docent:{SITE}:conv')).id") is None


def _scopes(app: LiveApp, cid: str) -> set[str]:
    with app.runtime.conversations.engine.connect() as conn:
        return {r.scope for r in conn.execute(select(conversations.c.scope).where(conversations.c.id == cid))}


def test_widget_cannot_reach_internal_docs(page: Page, app: LiveApp) -> None:
    """Asked about an internal page, the public widget neither cites nor links it."""
    open_widget(page, app.url + "/")
    ask(page, INTERNAL_Q)
    answer = wait_answer(page)
    assert INTERNAL_TITLE not in answer.inner_text()
    hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert not any("/internal/" in h for h in hrefs)


def test_docs_page_opens_at_cited_section(page: Page, app: LiveApp, artifacts: Path) -> None:
    """A citation URL under /docs opens the rendered public page scrolled to the cited heading."""
    hits = httpx.post(f"{app.url}/v1/search", json={"query": "bandwidth limit schedule", "top_k": 10}).json()
    url = next(h["url"] for h in hits["results"] if h["url"].startswith("/docs/") and "#" in h["url"])
    page.goto(app.url + url)
    heading = page.locator(f"[id='{url.split('#')[1]}']")
    expect(heading).to_be_in_viewport()
    expect(page.locator("aside.side a[aria-current=page]")).to_have_count(1)
    page.screenshot(path=str(artifacts / "docs-page-desktop.png"))
    page.set_viewport_size(MOBILE)
    page.goto(app.url + url)
    expect(heading).to_be_in_viewport()
    page.screenshot(path=str(artifacts / "docs-page-mobile.png"))
