"""The staff console in a real browser: sign-in, internal answers with their reasons, review lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.widget.conftest import (
    ANSWERABLE,
    INTERNAL_Q,
    INTERNAL_TITLE,
    MOBILE,
    OFF_TOPIC,
    STAFF_KEY,
    SUPPORT_KEY,
    LiveApp,
)

pytestmark = pytest.mark.slow  # needs a browser


@pytest.fixture(scope="module")
def app(live_app: Callable[..., LiveApp]) -> LiveApp:
    """A server with some public history: repeated unanswerable questions and a thumbs down."""
    app = live_app(sse_delay_s=0)
    with httpx.Client(base_url=app.url, timeout=30) as client:
        for question in (OFF_TOPIC, OFF_TOPIC.lower(), OFF_TOPIC.rstrip("?") + " !", "Who won the 1998 World Cup?"):
            assert client.post("/v1/chat", json={"message": question}).json()["answerable"] is False
        ans = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
        client.post("/v1/feedback", json={"conversation_id": ans["conversation_id"], "message_id": ans["message_id"],
                                          "rating": -1, "comment": "Too short"}).raise_for_status()
    return app


def sign_in(page: Page, url: str, key: str = STAFF_KEY) -> None:
    page.goto(url + "/console")
    page.get_by_label("Staff API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_console_requires_sign_in(page: Page, app: LiveApp, artifacts: Path) -> None:
    """Nothing shows before a valid staff key; the key lives in the tab's sessionStorage until sign-out."""
    page.goto(app.url + "/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_hidden()
    page.screenshot(path=str(artifacts / "console-signin-desktop.png"))
    sign_in(page, app.url, "not-a-key")
    expect(page.get_by_role("alert")).to_have_text("Your key was not accepted. Sign in again.")
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('docent:console:key')") is None
    sign_in(page, app.url, SUPPORT_KEY)
    expect(page.get_by_text("Signed in as support (support)")).to_be_visible()
    page.reload()  # the key survives a reload of the tab
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('docent:console:key')") is None


def test_console_explains_internal_answer_the_widget_cannot_give(browser: Any, page: Page, app: LiveApp,
                                                                 artifacts: Path) -> None:
    """Staff get the internal page cited, with retrieval scores, rewrite, model and latency; the widget does not."""
    sign_in(page, app.url)
    expect(page.get_by_text("Signed in as admin (admin)")).to_be_visible()
    page.get_by_label("Question").fill(INTERNAL_Q)
    page.get_by_role("button", name="Ask", exact=True).click()
    detail = page.locator("#detail")
    expect(detail.get_by_role("button", name=re.compile(re.escape(INTERNAL_TITLE))).first).to_be_visible()
    expect(detail.get_by_text("answered", exact=True)).to_be_visible()
    expect(detail.get_by_text("model docent-fake/echo-cite")).to_be_visible()
    expect(detail.get_by_text(re.compile(r"^latency \d+ ms$"))).to_be_visible()
    expect(detail.get_by_text("Rewritten query:")).to_be_visible()
    table = detail.get_by_role("table", name="Retrieved chunks (what the model was given)")
    rows = table.locator("tbody tr")
    assert rows.count() >= 3
    expect(table.locator("tr.cited").first).to_contain_text("[1]")
    expect(table.get_by_text("internal").first).to_be_visible()
    assert re.fullmatch(r"\d+\.\d{4}", rows.first.locator("td").nth(3).inner_text())

    # Review lists: repeated unanswerable questions ranked first, negative feedback with its comment.
    expect(page.locator("#abst li").first).to_contain_text(OFF_TOPIC)
    expect(page.locator("#abst li").first).to_contain_text("3×")
    expect(page.locator("#neg li").first).to_contain_text("Too short")
    expect(page.locator("#evals")).to_contain_text("No evaluation endpoint on this server yet")
    page.screenshot(path=str(artifacts / "console-desktop.png"), full_page=True)

    detail.get_by_role("button", name=re.compile(re.escape(INTERNAL_TITLE))).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=f"{INTERNAL_TITLE} (internal)")).to_be_visible()
    page.screenshot(path=str(artifacts / "console-internal-doc.png"))
    dialog.get_by_role("button", name="Close page").click()

    mobile = browser.new_context(viewport=MOBILE, is_mobile=True, has_touch=True)
    try:
        phone = mobile.new_page()
        sign_in(phone, app.url)
        phone.get_by_label("Question").fill(INTERNAL_Q)
        phone.get_by_role("button", name="Ask", exact=True).click()
        expect(phone.locator("#detail table")).to_be_visible()
        phone.screenshot(path=str(artifacts / "console-mobile.png"))
    finally:
        mobile.close()

    # The same question through the public widget: the internal page is out of reach.
    page.goto(app.url + "/")
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    page.get_by_role("textbox", name="Your question").fill(INTERNAL_Q)
    page.keyboard.press("Enter")
    answer = page.locator("docent-widget article.bot[aria-busy=false]")
    expect(answer).to_have_count(1, timeout=30_000)
    assert INTERNAL_TITLE not in answer.inner_text()
    assert httpx.get(f"{app.url}/docs/internal/escalation-policy").status_code == 404


def test_console_lists_what_the_verifier_withdrew(page: Page, live_app: Callable[..., LiveApp],
                                                  artifacts: Path) -> None:
    """A sentence its source does not support never reaches the customer; staff see it struck through."""
    from tests.service.conftest import scripted_reply

    app = live_app(model="docent-fake/reply", sse_delay_s=0)
    reply = ("`password_file` must contain only the password; a single trailing newline is stripped [1]. "
             "The agent listens on port 7400 [1].")
    sign_in(page, app.url)
    with scripted_reply(reply):
        page.get_by_label("Question").fill(ANSWERABLE)
        page.get_by_role("button", name="Ask", exact=True).click()
        detail = page.locator("#detail")
        expect(detail.get_by_role("heading", name="Withdrawn: not supported by the cited source")).to_be_visible()
    expect(detail.locator("ul.withdrawn li")).to_have_text(["The agent listens on port 7400."])
    expect(detail.locator("p.answer")).to_contain_text("a single trailing newline is stripped")
    expect(detail.locator("p.answer")).not_to_contain_text("7400")
    page.screenshot(path=str(artifacts / "console-withdrawn.png"), full_page=True)


def test_console_opens_the_conversation_a_ticket_links_to(page: Page, app: LiveApp) -> None:
    """A handoff ticket's link, /console#conversation=<id>, opens that conversation after sign-in."""
    with httpx.Client(base_url=app.url, timeout=30) as client:
        cid = client.post("/v1/chat", json={"message": OFF_TOPIC}).json()["conversation_id"]
    page.goto(app.url + "/console#conversation=" + cid)
    page.get_by_label("Staff API key").fill(STAFF_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Conversation " + cid)).to_be_visible()
    expect(page.locator("#detail")).to_contain_text(OFF_TOPIC)
