"""Sources first in a real browser: "Looking in" cards while a slow model thinks, then the cited one marked."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.widget.conftest import OFF_TOPIC, STAFF_KEY, LiveApp, ask, open_widget, wait_answer

SCHEDULE_Q = "How do I limit bandwidth on a schedule?"  # echo-cite's quote of source 1 is verified

pytestmark = pytest.mark.slow  # needs a browser

MODEL_DELAY_S = 3.0
# Times, from the moment the question is sent, when the first source card and the first answer text appear.
WATCH = """() => { const root = document.querySelector('docent-widget').shadowRoot; window.__t = {};
  new MutationObserver(() => { const last = [...root.querySelectorAll('article.bot')].pop(); if (!last) return;
    if (!window.__t.sources && last.querySelector('.looking li.src')) window.__t.sources = performance.now();
    if (!window.__t.text && !last.querySelector('.typing') && last.querySelector('.body').textContent)
      window.__t.text = performance.now();
  }).observe(root, {subtree: true, childList: true, characterData: true}); }"""


def test_widget_shows_sources_within_half_a_second_then_marks_the_cited_one(
        page: Page, live_app: Callable[..., LiveApp], artifacts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a model that waits 3 s, the cards show in < 0.5 s under the typing dots; the final marks source 1."""
    monkeypatch.setenv("DOCENT_FAKE_DELAY_S", str(MODEL_DELAY_S))  # the server runs in this process
    app = live_app(model="docent-fake/slow")  # echo-cite after the delay: cites source 1
    # Warm the query path (first embedding, SQLite) with a question the model never sees.
    httpx.post(app.url + "/v1/chat", json={"message": OFF_TOPIC}, headers={"X-API-Key": STAFF_KEY}, timeout=30)
    open_widget(page, app.url + "/")
    page.wait_for_function("() => sessionStorage.getItem('docent:test-site:token') !== null")
    page.evaluate(WATCH)
    sent = page.evaluate("() => performance.now()")
    ask(page, SCHEDULE_Q)
    pending = page.locator("docent-widget article.bot").last
    looking = pending.get_by_role("list", name="Looking in")
    expect(looking.get_by_role("link").first).to_be_visible(timeout=5_000)
    expect(pending).to_have_attribute("aria-busy", "true")  # the answer is still pending
    expect(pending.locator(".typing")).to_be_visible()
    page.screenshot(path=str(artifacts / "widget-sources-pending.png"))
    cards = looking.get_by_role("link").count()
    assert cards >= 2
    answer = wait_answer(page)
    seen = page.evaluate("window.__t")
    to_sources, to_text = seen["sources"] - sent, seen["text"] - sent
    print(f"widget: source cards after {to_sources:.0f} ms, first answer text after {to_text:.0f} ms")
    assert to_sources < 500, f"sources took {to_sources:.0f} ms"
    assert to_text > MODEL_DELAY_S * 1000 > to_sources

    # The cited source is the "Sources" list, numbered like its marker; the others fold into a closed disclosure.
    cited = answer.get_by_role("list", name="Sources").get_by_role("link")
    expect(cited).to_have_count(1)
    marker = answer.get_by_role("button", name=re.compile(r"^Source 1: ")).first
    title = (marker.get_attribute("title") or "").strip()
    assert title and title in cited.inner_text()
    expect(answer.locator("li.src.cited")).to_have_count(1)
    more = answer.locator(".looking details")
    expect(more.locator("summary")).to_have_text(re.compile(rf"^Also looked in {cards - 1} pages?$"))
    expect(more).not_to_have_attribute("open", "")
    expect(more.locator("li.src a")).to_have_count(cards - 1)  # folded: hidden until the summary is opened
    expect(answer.get_by_role("list", name="Looking in")).to_have_count(0)
    page.screenshot(path=str(artifacts / "widget-sources-final.png"))
    # The citation popover still works alongside the cards.
    marker.click()
    expect(answer.get_by_role("region", name=re.compile(r"^Source 1: "))).to_be_visible()
    # Keyboard: the cited card's link is reachable with Tab from the marker.
    marker.click()
    marker.focus()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("!!document.querySelector('docent-widget').shadowRoot.activeElement?.closest('li.src.cited')"):
            break
    else:
        raise AssertionError("the cited source card is not reachable with Tab")


def test_widget_sources_survive_a_reload(page: Page, live_app: Callable[..., LiveApp]) -> None:
    """A restored conversation shows the same marked Sources list and folded others, from the stored final."""
    app = live_app()
    open_widget(page, app.url + "/")
    ask(page, SCHEDULE_Q)
    before = wait_answer(page).locator(".looking").inner_text()
    page.reload()
    restored = wait_answer(page)
    expect(restored.get_by_role("list", name="Sources").get_by_role("link")).to_have_count(1)
    assert restored.locator(".looking").inner_text() == before
