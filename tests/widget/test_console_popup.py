"""The console's evaluation report: a sandboxed frame without the staff key, its sort script from 'self'."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from eval import api as evals
from eval.report_html import SCRIPT_URL
from eval.run_store import RunStore
from eval.settings import EvalSettings
from eval.suite import save
from service.api.routes.console import CONSOLE_CSP
from service.app import create_app
from tests.eval.conftest import make_record
from tests.service.live_server import serving
from tests.widget.conftest import STAFF_KEY, build_runtime, wire

pytestmark = pytest.mark.slow  # needs a browser

KEY = "docent:console:key"
# q2 is the least faithful, q3 the most: sorting by faithfulness reorders the rows.
SCORES: dict[str, dict[str, float | None]] = {
    "q1": {"faithfulness": 0.6}, "q2": {"faithfulness": 0.1}, "q3": {"faithfulness": 0.9}}


@pytest.fixture(scope="module")
def console_url(corpus_store: tuple[Path, EdgeStore], embedder: Embedder,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server with the eval routes and one stored run (JSON, CSV and HTML report)."""
    _, store = corpus_store
    data = tmp_path_factory.mktemp("report")
    runtime = build_runtime(data, store, embedder)
    eval_settings = EvalSettings(_env_file=None, runs_dir=data / "evals")
    save(RunStore(data / "evals"), make_record("20250101T000000Z-000", SCORES), eval_settings)
    app = create_app(runtime.settings, runtime=runtime, extra_routers=[evals.router])
    app.state.eval_settings = eval_settings
    with serving(wire(app, runtime.settings)) as url:
        yield url
    runtime.conversations.close()


def test_console_popup_report_script_is_same_origin_file_allowed_by_csp(console_url: str) -> None:
    """The report the console gets loads /static/eval-report.js (no inline script); the console's CSP allows it."""
    report = httpx.get(f"{console_url}/v1/evals/latest", params={"format": "html"},
                       headers={"X-API-Key": STAFF_KEY}).text
    assert f'<script src="{SCRIPT_URL}"></script>' in report and "<script>" not in report
    script = httpx.get(console_url + SCRIPT_URL)
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "table.sortable th" in script.text
    policy = httpx.get(console_url + "/console").headers["content-security-policy"]
    assert policy == CONSOLE_CSP and "script-src 'self';" in policy and "unsafe-inline' " not in policy.split(
        "script-src", 1)[1].split(";", 1)[0]


def test_console_popup_report_has_no_key_and_sorts(page: Page, console_url: str) -> None:
    """Opened from the console, the report shows in a sandboxed frame: no staff key, no CSP errors, sorting works."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(console_url + "/console")
    page.get_by_label("Staff API key").fill(STAFF_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Open latest report").click()
    expect(page.get_by_role("dialog", name="Evaluation report")).to_be_visible()

    frame = page.frame_locator("#report-frame")
    table = frame.locator("table#questions")
    rows = frame.locator("table#questions > tbody > tr")  # not the metric tables inside each row
    expect(rows).to_have_count(3)
    assert len(page.context.pages) == 1  # no pop-up window (it would get a copy of sessionStorage)
    assert page.evaluate(f"sessionStorage.getItem('{KEY}')") == STAFF_KEY  # the console still has it
    report: Any = next(f for f in page.frames if f.url == "about:srcdoc")
    seen = report.evaluate("""() => {
      const read = (f) => { try { return f(); } catch (e) { return 'denied:' + e.name; } };
      return { own: read(() => sessionStorage.getItem('docent:console:key')),
               parent: read(() => window.parent.sessionStorage.getItem('docent:console:key')),
               opener: window.opener === null, origin: self.origin };
    }""")
    assert seen == {"own": "denied:SecurityError", "parent": "denied:SecurityError", "opener": True,
                    "origin": "null"}
    # Its one script is the same-origin file (it ran: the sorting below works), never inline.
    assert report.evaluate("() => [...document.scripts].map(s => s.src || 'inline')") == [console_url + SCRIPT_URL]

    def order() -> list[str]:
        return [str(r.get_attribute("data-id")) for r in rows.all()]

    assert order() == ["q1", "q2", "q3"]
    header = table.locator(":scope > thead th", has_text="faithfulness").first
    header.click()
    expect(rows.first).to_have_attribute("data-id", "q2")
    assert order() == ["q2", "q1", "q3"]
    header.click()
    expect(rows.first).to_have_attribute("data-id", "q3")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

    page.get_by_role("button", name="Close report").click()
    expect(page.get_by_role("dialog", name="Evaluation report")).to_be_hidden()
