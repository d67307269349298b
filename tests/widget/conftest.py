"""Widget and console fixtures: the real app on a loopback port, and Debian's Chromium via Playwright.

Apps are built with ``create_app`` over the shared docs-corpus index, with scripted
``docent-fake`` models through LiteLLM. Until ``create_app`` and ``deps.get_caller``
carry the widget wiring, ``wire`` adds it the same way (it does nothing once they do).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.schema import Access
from docent.settings import LLMSettings, Settings, Site, WidgetSettings
from service.api import deps
from service.api.routes import console, pages, widget
from service.app import create_app
from service.runtime import Runtime
from service.widget_tokens import admit_public
from tests.conftest import REPO
from tests.service.conftest import STAFF_KEY, SUPPORT_KEY, staff_keys

SITE = "test-site"
SUPPORT_URL = "https://support.pylon.example/new-ticket"
ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"
OFF_TOPIC = "What is the best recipe for banana bread?"
INTERNAL_Q = "Who must the incident commander inform by phone if a P1 is not resolved within 4 hours?"
INTERNAL_TITLE = "Escalation policy and on-call rotation"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

_bearer = HTTPBearer(auto_error=False)


def get_caller_with_widget(request: Request, runtime: deps.RuntimeDep,
                           key: Annotated[str | None, Depends(deps._api_key)],
                           bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> deps.Caller:
    """What ``deps.get_caller`` becomes: public callers pass the widget's origin, token and rate checks."""
    if not key:
        return deps.Caller(Access.public(), admit_public(request, runtime, bearer.credentials if bearer else None))
    return deps.get_caller(runtime, key)


def wire(app: FastAPI, settings: Settings) -> FastAPI:
    """Add the widget, console and pages wiring that ``create_app`` does not have yet."""
    if "bearer" not in inspect.signature(deps.get_caller).parameters:
        app.dependency_overrides[deps.get_caller] = get_caller_with_widget
    if not any(getattr(r, "path", "") == "/widget.js" for r in app.routes):
        if app.docs_url == "/docs":  # Swagger moves to /api-docs so /docs can serve the docs
            app.router.routes = [r for r in app.router.routes
                                 if getattr(r, "path", "") not in ("/docs", "/docs/oauth2-redirect")]
        widget.add_cors(app, settings.widget)
        for router in (widget.router, console.router, pages.router):
            app.include_router(router)
    return app


def build_runtime(data: Path, store: EdgeStore, embedder: Embedder, *, model: str = "docent-fake/echo-cite",
                  origins: list[str] | None = None, **widget_opts: Any) -> Runtime:
    """A runtime over the shared index: staff keys, one widget site, a support link."""
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(_env_file=None, data_dir=data, docs_dir=REPO / "docs-corpus",
                        llm=LLMSettings(model=model, timeout_s=120, retries=0, max_tokens=96), watch=False)
    settings.auth.staff_keys = staff_keys()
    settings.chat = settings.chat.model_copy(update={"support_url": SUPPORT_URL, "support_label": "Open a ticket"})
    settings.widget = WidgetSettings(sites=[Site(site_id=SITE, allowed_origins=origins or ["http://testserver"],
                                                 title="Pylon help", greeting="Hi! Ask me about Pylon.")],
                                     **widget_opts)
    return Runtime.build(settings, store=store, embedder=embedder, start_watcher=False)


class SlowSSE:
    """Spaces out Server-Sent Events, so a browser visibly receives an answer piece by piece.

    The scripted model emits all its words at once; real models do not.
    """

    def __init__(self, app: Any, delay_s: float) -> None:
        self.app, self.delay_s = app, delay_s

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sse = False

        async def paced(message: dict[str, Any]) -> None:
            nonlocal sse
            if message["type"] == "http.response.start":
                sse = any(k == b"content-type" and v.startswith(b"text/event-stream") for k, v in message["headers"])
            elif sse and message.get("body"):
                await asyncio.sleep(self.delay_s)
            await send(message)

        await self.app(scope, receive, paced)


@dataclass
class LiveApp:
    """A running server: its base URL and the runtime behind it."""

    url: str
    runtime: Runtime


@pytest.fixture(scope="module")
def live_app(corpus_store: tuple[Path, EdgeStore], embedder: Embedder,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveApp]]:
    """Start real uvicorn servers on 127.0.0.1 (free ports); all stopped when the module ends."""
    _, store = corpus_store
    running: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []

    def start(model: str = "docent-fake/echo-cite", sse_delay_s: float = 0.05, **widget_opts: Any) -> LiveApp:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        runtime = build_runtime(tmp_path_factory.mktemp("live"), store, embedder, model=model, origins=[url],
                                **widget_opts)
        app = wire(create_app(runtime.settings, runtime=runtime), runtime.settings)
        server = uvicorn.Server(uvicorn.Config(SlowSSE(app, sse_delay_s), log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        running.append((server, thread, runtime))
        return LiveApp(url, runtime)

    yield start
    for server, thread, runtime in running:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.conversations.close()


@pytest.fixture
def api(corpus_store: tuple[Path, EdgeStore], embedder: Embedder,
        tmp_path: Path) -> Iterator[Callable[..., tuple[TestClient, Runtime]]]:
    """In-process clients (no browser) over a wired app; widget settings are keyword options."""
    _, store = corpus_store
    made: list[tuple[TestClient, Runtime]] = []

    def make(model: str = "docent-fake/echo-cite", **widget_opts: Any) -> tuple[TestClient, Runtime]:
        runtime = build_runtime(tmp_path / f"data{len(made)}", store, embedder, model=model, **widget_opts)
        client = TestClient(wire(create_app(runtime.settings, runtime=runtime), runtime.settings))
        client.__enter__()
        made.append((client, runtime))
        return client, runtime

    yield make
    for client, runtime in made:
        client.__exit__(None, None, None)
        runtime.conversations.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (``playwright install`` cannot download browsers here)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: $DOCENT_ARTIFACTS, else test-artifacts/ at the repo root (gitignored)."""
    path = Path(os.environ.get("DOCENT_ARTIFACTS") or REPO / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


DESKTOP: Any = {"width": 1280, "height": 800}  # playwright's ViewportSize
MOBILE: Any = {"width": 390, "height": 844}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh desktop-sized browser context and page (own sessionStorage) per test."""
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


def open_widget(page: Any, url: str) -> None:
    """Load a page and open the chat bubble."""
    page.goto(url)
    from playwright.sync_api import expect  # here, not at the top: the widget API tests need no browser

    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.get_by_role("dialog")).to_be_visible()


def ask(page: Any, question: str) -> None:
    box = page.get_by_role("textbox", name="Your question")
    box.fill(question)
    box.press("Enter")


def wait_answer(page: Any, count: int = 1) -> Any:
    """The last answer, once ``count`` answers are complete (aria-busy false)."""
    from playwright.sync_api import expect

    expect(page.locator("docent-widget article.bot[aria-busy=false]")).to_have_count(count, timeout=30_000)
    return page.locator("docent-widget article.bot").last


__all__ = ["ANSWERABLE", "DESKTOP", "INTERNAL_Q", "INTERNAL_TITLE", "MOBILE", "OFF_TOPIC", "SITE", "STAFF_KEY",
           "SUPPORT_KEY", "SUPPORT_URL", "LiveApp", "ask", "open_widget", "wait_answer"]
