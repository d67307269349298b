"""The widget end to end with the small real local model (SmolLM2-135M through llama.cpp)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service.conversations import messages
from tests.widget.conftest import ANSWERABLE, LiveApp

pytestmark = pytest.mark.slow
SMOLLM = "docent-local/smollm2-135m"


def test_widget_answers_with_real_local_model(browser: Any, live_app: Callable[..., LiveApp], artifacts: Path) -> None:
    """A real model's answer arrives in the widget: cited, or honestly abstained with the handoff."""
    app = live_app(model=SMOLLM, sse_delay_s=0)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(app.url + "/")
        page.get_by_role("button", name=re.compile("^Open chat")).click()
        box = page.get_by_role("textbox", name="Your question")
        box.fill(ANSWERABLE)
        box.press("Enter")
        answer = page.locator("docent-widget article.bot[aria-busy=false]")
        expect(answer).to_have_count(1, timeout=180_000)
        cited = answer.get_by_role("button", name=re.compile(r"^Source \d")).count()
        handoff = answer.get_by_role("link", name="Open a ticket").count()
        assert cited or handoff, answer.inner_text()
        page.screenshot(path=str(artifacts / "widget-smollm.png"))
    finally:
        context.close()
    with app.runtime.conversations.engine.connect() as conn:
        meta = conn.execute(select(messages.c.meta).where(messages.c.role == "assistant")
                            .order_by(messages.c.id.desc()).limit(1)).scalar_one()
    assert meta["model"] == SMOLLM
