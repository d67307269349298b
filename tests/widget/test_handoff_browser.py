"""Handoff in a real browser: the widget's "Talk to a person" form, and the console's gap report with charts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from docent.settings import HandoffSettings
from service.handoff import build_target
from tests.service.test_handoff import SECRET, Receiver
from tests.widget.conftest import OFF_TOPIC, STAFF_KEY, SUPPORT_URL, LiveApp, ask, open_widget, wait_answer

pytestmark = pytest.mark.slow  # needs a browser


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _with_handoff(app: LiveApp, receiver: Receiver) -> LiveApp:
    # The lifespan built the outbox with handoff off; point it at the loopback receiver.
    settings = HandoffSettings(kind="webhook", url=receiver.url, secret=SECRET, backoff_s=0, retry_interval_s=3600,
                               console_base_url=app.url)
    outbox = app.runtime.handoffs
    outbox.settings, outbox.target = settings, build_target(settings)
    return app


@pytest.fixture(scope="module")
def app(live_app: Callable[..., LiveApp], receiver: Receiver) -> LiveApp:
    return _with_handoff(live_app(sse_delay_s=0), receiver)


def test_widget_handoff_form_shows_ticket_reference(page: Page, app: LiveApp, receiver: Receiver,
                                                     artifacts: Path) -> None:
    """An abstention offers "Talk to a person"; email + message create a ticket whose reference is shown."""
    open_widget(page, app.url + "/")
    ask(page, OFF_TOPIC)
    answer = wait_answer(page)
    expect(answer.get_by_role("link", name="Open a ticket")).to_have_attribute("href", SUPPORT_URL)
    answer.get_by_role("button", name="Talk to a person").click()
    answer.get_by_label("Your email").fill("ana@example.com")
    answer.get_by_label("Message (optional)").fill("I need this for my bakery.")
    answer.get_by_role("button", name="Send to support").click()
    status = answer.get_by_role("status", name="Handoff status")
    expect(status).to_contain_text(re.compile(r"ticket T-\d+"), timeout=15_000)
    page.screenshot(path=str(artifacts / "widget-handoff.png"))
    ticket = json.loads(receiver.requests[-1]["raw"])
    assert receiver.requests[-1]["signed"] and ticket["email"] == "ana@example.com"
    assert ticket["question"] == OFF_TOPIC and ticket["page_url"] == app.url + "/"
    assert ticket["message"] == "I need this for my bakery."


def test_widget_handoff_form_validates_and_reports_failure(page: Page, app: LiveApp, receiver: Receiver) -> None:
    """A bad email is refused in the form; a helpdesk that is down gives a clear "saved, will be sent" message."""
    open_widget(page, app.url + "/")
    ask(page, "Can I talk to a human about my invoice?")
    answer = wait_answer(page)
    answer.get_by_role("button", name="Talk to a person").click()
    answer.get_by_label("Your email").fill("not an email")
    answer.get_by_role("button", name="Send to support").click()
    expect(answer.get_by_role("status", name="Handoff status")).to_contain_text("email")
    receiver.script = [503, 503, 503]
    answer.get_by_label("Your email").fill("ana@example.com")
    answer.get_by_role("button", name="Send to support").click()
    expect(answer.get_by_role("status", name="Handoff status")).to_contain_text(
        re.compile(r"could not reach our helpdesk.*H-[0-9a-f]{8}"), timeout=15_000)


def test_widget_without_handoff_keeps_support_link(page: Page, live_app: Callable[..., LiveApp]) -> None:
    """With no helpdesk configured, the abstention shows the support link and no handoff form."""
    plain = live_app(sse_delay_s=0)
    open_widget(page, plain.url + "/")
    ask(page, OFF_TOPIC)
    answer = wait_answer(page)
    expect(answer.get_by_role("link", name="Open a ticket")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(answer.get_by_role("button", name="Talk to a person")).to_have_count(0)


def test_console_gap_report_charts(page: Page, app: LiveApp, artifacts: Path) -> None:
    """The console's gap report: charts, groups with a label and trend, and the handoffs with their references."""
    page.goto(app.url + "/console")
    page.get_by_label("Staff API key").fill(STAFF_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as admin")).to_be_visible()
    page.get_by_role("link", name="Gap report").click()
    expect(page.get_by_role("heading", name="Gap report")).to_be_visible()
    expect(page.locator("img.gap-chart")).to_have_count(3, timeout=30_000)
    for img in page.locator("img.gap-chart").all():
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    rows = page.locator("table.gap-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator(".gap-label").filter(has_text=OFF_TOPIC)).to_have_count(1)
    expect(page.get_by_role("heading", name="Handoffs")).to_be_visible()
    expect(page.get_by_text(re.compile(r"T-\d+ · delivered")).first).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.screenshot(path=str(artifacts / "console-gaps.png"), full_page=True)
    page.evaluate("location.hash = ''")  # leaving the report shows the console again
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_visible()
