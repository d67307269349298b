"""The widget in a real browser when things go wrong or the host page is hostile."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.conversations import conversations
from tests.widget.conftest import ANSWERABLE, INTERNAL_Q, SITE, LiveApp, ask, open_widget, wait_answer

pytestmark = pytest.mark.slow  # needs a browser


@pytest.fixture(scope="module")
def app(live_app: Callable[..., LiveApp]) -> LiveApp:
    return live_app()


@pytest.mark.parametrize(("fault", "message"), [
    ("429", "Please wait 2 seconds"),
    ("503", "error 503"),
    ("offline", "Can't reach the assistant"),
])
def test_widget_failure_shows_message_and_retry(page: Page, app: LiveApp, fault: str, message: str) -> None:
    """A 429, a 5xx or a lost network shows a clear message; Retry then gets the answer."""
    open_widget(page, app.url + "/")

    def broken(route: Any) -> None:
        if fault == "offline":
            route.abort("internetdisconnected")
        else:
            route.fulfill(status=int(fault), headers={"Retry-After": "2", "Content-Type": "application/json"},
                          body='{"detail": "scripted failure"}')

    page.route("**/v1/chat", broken)
    ask(page, ANSWERABLE)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(message)
    retry = alert.get_by_role("button", name=re.compile("^Retry"))
    if fault == "429":
        expect(retry).to_be_disabled()
    expect(alert.get_by_role("link", name="Open a ticket")).to_be_visible()
    page.unroute("**/v1/chat")
    expect(retry).to_be_enabled(timeout=5_000)
    retry.click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(wait_answer(page).get_by_role("button", name=re.compile("^Source 1"))).to_be_visible()


def test_widget_host_css_does_not_leak_either_way(page: Page, app: LiveApp, artifacts: Path) -> None:
    """Aggressive host CSS leaves the widget's computed styles unchanged, and the widget adds no page CSS."""
    probe = """() => { const r = document.querySelector('docent-widget').shadowRoot;
      const pick = (el, props) => { const s = getComputedStyle(el); return props.map(p => s.getPropertyValue(p)); };
      const props = ['color', 'font-size', 'font-family', 'line-height', 'background-color', 'padding-top', 'display'];
      return {launcher: pick(r.querySelector('.launcher'), [...props, 'width', 'height']),
              panel: pick(r.querySelector('.panel'), [...props, 'width']),
              header: pick(r.querySelector('header h2'), props),
              greeting: pick(r.querySelector('.greet'), props),
              input: pick(r.querySelector('textarea'), props),
              send: pick(r.querySelector('.send'), [...props, 'width'])}; }"""
    open_widget(page, app.url + "/")
    clean = page.evaluate(probe)
    page.keyboard.press("Escape")  # closed, so the next page does not restore it open

    hostile = ("<!doctype html><html><head><style>"
               "* { color: red !important; font-size: 40px !important; font-family: serif !important;"
               " line-height: 3 !important; background: yellow !important; padding: 30px !important;"
               " box-sizing: content-box !important; }"
               " div, button, textarea, header, h2 { display: inline !important; width: 10px !important; }"
               " docent-widget { display: none !important; } :root { font-size: 50px; }"
               "</style></head><body><p id='host'>Host page text</p>"
               f"<script src='/widget.js' data-docent-key='{SITE}' async></script></body></html>")
    page.route("**/hostile-page", lambda route: route.fulfill(status=200, content_type="text/html", body=hostile))
    page.goto(app.url + "/hostile-page")
    before = page.evaluate("getComputedStyle(document.getElementById('host')).cssText || "
                           "[...getComputedStyle(document.getElementById('host'))].length")
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert page.evaluate(probe) == clean
    assert page.evaluate("document.querySelectorAll('style').length") == 1  # only the host's own
    assert page.evaluate("getComputedStyle(document.getElementById('host')).color") == "rgb(255, 0, 0)"
    assert page.evaluate("getComputedStyle(document.getElementById('host')).cssText || "
                         "[...getComputedStyle(document.getElementById('host'))].length") == before
    page.screenshot(path=str(artifacts / "widget-hostile-host-css.png"))


def test_widget_on_disallowed_origin_is_refused(page: Page, app: LiveApp, artifacts: Path) -> None:
    """Embedded on another site, the widget gets no session (CORS refuses it) and cannot chat.

    The server's own 403 for a disallowed Origin is covered in test_widget_api.py; here the
    browser never gets as far as asking.
    """
    before = len(_all_conversations(app))
    with copycat_site(f"<!doctype html><body><h1>Copycat</h1><script src='{app.url}/widget.js' "
                      f"data-docent-key='{SITE}' async></script></body>") as evil:
        open_widget(page, evil)
        ask(page, INTERNAL_Q)
        expect(page.get_by_role("alert")).to_contain_text("Can't reach the assistant")
        page.screenshot(path=str(artifacts / "widget-disallowed-origin.png"))
    assert len(_all_conversations(app)) == before


@contextmanager
def copycat_site(body: str) -> Iterator[str]:
    """Another origin on loopback serving one page (Chromium blocks public pages from reaching loopback)."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_widget_theming_from_data_attributes_and_css_properties(page: Page, app: LiveApp) -> None:
    """Colour, position, title and greeting come from data attributes; radius from a CSS custom property."""
    themed = ("<!doctype html><html><head><style>:root { --docent-radius: 3px; }</style></head><body>"
              f"<script src='/widget.js' data-docent-key='{SITE}' data-color='#0a7d38' data-position='left' "
              "data-title='Help center' data-greeting='Hello there' data-open='true' async></script></body></html>")
    page.route("**/themed-page", lambda route: route.fulfill(status=200, content_type="text/html", body=themed))
    page.goto(app.url + "/themed-page")
    dialog = page.get_by_role("dialog", name="Help center")
    expect(dialog).to_be_visible()  # data-open
    expect(dialog.get_by_text("Hello there")).to_be_visible()
    launcher = page.get_by_role("button", name="Open chat: Help center")
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(10, 125, 56)"
    assert (launcher.bounding_box() or {"x": 999})["x"] < 40
    assert dialog.evaluate("el => getComputedStyle(el).borderTopLeftRadius") == "3px"


def _all_conversations(app: LiveApp) -> list[Any]:
    with app.runtime.conversations.engine.connect() as conn:
        return list(conn.execute(select(conversations.c.id)).all())
