"""The console's docs sources view in a real browser: each source's last sync, its errors, Sync now."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from docent.embedder import Embedder
from docent.errors import ConfigError
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings, SourceSettings
from ingest.sources.state import SyncState, source_dir
from service.app import create_app
from service.runtime import Runtime
from tests.conftest import write
from tests.service.conftest import STAFF_KEY, SUPPORT_KEY, staff_keys
from tests.service.live_server import serving
from tests.widget.conftest import DESKTOP, MOBILE, LiveApp

pytestmark = pytest.mark.slow  # needs a browser

TOKEN_URL = "https://bot:s3cret@git.invalid/handbook.git"
CRAWL_ERRORS = [f"https://docs.example.com/page-{i}: timed out after 20 s; last good copy kept" for i in range(8)]


@pytest.fixture(scope="module")
def serve(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LiveApp]]:
    """Start servers over fresh indexes with the given sources (admin key: STAFF_KEY); stopped at module end."""
    with ExitStack() as stack:
        def start(sources: list[SourceSettings]) -> LiveApp:
            tmp = tmp_path_factory.mktemp("sources")
            settings = Settings(_env_file=None, data_dir=tmp / "data", docs_dir=tmp / "docs", watch=False,
                                llm=LLMSettings(model="docent-fake/echo-cite", retries=0), sources=sources)
            settings.auth.staff_keys = staff_keys()
            store = EdgeStore(settings.store_dir, role="test")
            stack.callback(store.close)
            runtime = Runtime.build(settings, store=store, embedder=embedder, start_watcher=False)
            stack.callback(runtime.close)
            return LiveApp(stack.enter_context(serving(create_app(settings, runtime=runtime))), runtime)

        yield start


@pytest.fixture(scope="module")
def app(serve: Callable[..., LiveApp], tmp_path_factory: pytest.TempPathFactory) -> LiveApp:
    """A folder source synced once (with one unreadable page), a git source whose sync failed, and a
    website source whose last crawl reported many page errors."""
    folder = tmp_path_factory.mktemp("handbook")
    write(folder, "refunds.md", "# Refunds\n\nRefunds take five business days.\n")
    write(folder, "limits.md", "# Limits\n\nThe API allows 600 requests a minute.\n")
    write(folder, "broken.md", "# Broken\n\x00\x00 binary")
    app = serve([SourceSettings(name="handbook", location=str(folder), visibility="internal", groups=["support"]),
                 SourceSettings(name="repo", kind="git", location=TOKEN_URL, schedule_s=900),
                 SourceSettings(name="site", kind="website", location="https://docs.example.com/?token=abc",
                                schedule_s=21600)])
    app.runtime.sync_source("handbook")  # what the scheduler runs
    with pytest.raises(ConfigError):
        app.runtime.sync_source("repo")  # no such host: recorded in its state, as the scheduler's would be
    site = app.runtime.settings.sources[2]
    SyncState("site", "website", last_sync=time.time() - 3600, seconds=42.5, unchanged=120, changed=3,
              failed=len(CRAWL_ERRORS), errors=CRAWL_ERRORS).save(source_dir(app.runtime.settings, site) / "state.json")
    return app


def sign_in(page: Page, url: str, key: str = STAFF_KEY) -> list[str]:
    """Sign in to the console; the list fills with the page's script errors, uncaught exceptions and
    failed requests of this view (the main console's own 404s, /v1/evals and the cache being off, are not)."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and ("/static/" in r.url or "/sources" in r.url) else None)
    page.goto(url + "/console")
    page.get_by_label("Staff API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_visible()
    return problems


def card(page: Page, name: str) -> Any:
    return page.get_by_role("article", name=name)


def count(source: Any, label: str) -> Any:
    return source.locator(".src-count", has=source.page.locator("dt", has_text=re.compile(f"^{label}$"))).locator("dd")


def test_console_sources_shows_each_sources_last_sync(page: Page, app: LiveApp, artifacts: Path) -> None:
    """An admin sees every source: location without credentials, schedule, counts, errors (many collapsed)."""
    problems = sign_in(page, app.url)
    page.get_by_role("link", name="Sources").click()
    expect(page.get_by_role("heading", name="Docs sources")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_hidden()
    handbook = card(page, "handbook")
    expect(handbook.get_by_text("internal: support")).to_be_visible()
    expect(handbook.get_by_text("on change (the folder is watched)")).to_be_visible()
    expect(count(handbook, "added")).to_have_text("2")
    expect(count(handbook, "failed")).to_have_text("1")
    expect(count(handbook, "unchanged")).to_have_text("0")
    expect(handbook.get_by_text("handbook/broken.md: binary content")).to_be_visible()
    expect(handbook.get_by_text("1 page failed")).to_be_visible()
    expect(handbook.locator("time")).to_have_text(re.compile(r"now|second"))
    repo = card(page, "repo")
    expect(repo.get_by_text("https://git.invalid/handbook.git", exact=True)).to_be_visible()
    expect(repo.get_by_text(re.compile("^sync failed: git clone failed"))).to_be_visible()
    expect(repo.get_by_text("every 15 min")).to_be_visible()
    expect(repo.get_by_text("last sync failed")).to_be_visible()
    site = card(page, "site")
    expect(site.get_by_text("https://docs.example.com/?token=***", exact=True)).to_be_visible()
    expect(site.locator("time").first).to_have_text("1 hour ago")
    expect(site.locator("time").nth(1)).to_have_text("in 5 hours")  # next sync: 6 h after the last
    expect(count(site, "unchanged")).to_have_text("120")
    expect(site.get_by_text(CRAWL_ERRORS[0])).to_be_hidden()  # 8 errors: collapsed under their count
    page.screenshot(path=str(artifacts / "console-sources.png"), full_page=True)
    page.set_viewport_size(MOBILE)
    page.screenshot(path=str(artifacts / "console-sources-mobile.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    site.get_by_text("8 errors").click()
    expect(site.get_by_text(CRAWL_ERRORS[7])).to_be_visible()
    assert "s3cret" not in page.content() and "token=abc" not in page.content()
    assert problems == []


def test_console_sources_sync_now_updates_the_counts(page: Page, app: LiveApp) -> None:
    """Sync now runs the source's sync in the background and the view shows the new counts when it ends."""
    folder = Path(app.runtime.settings.sources[0].location)
    write(folder, "shipping.md", "# Shipping\n\nParcels ship within two days.\n")
    problems = sign_in(page, app.url)
    page.goto(app.url + "/console#sources")
    handbook = card(page, "handbook")
    expect(count(handbook, "added")).to_have_text("2")
    handbook.get_by_role("button", name="Sync handbook now").click()
    expect(count(handbook, "added")).to_have_text("1", timeout=30_000)
    expect(count(handbook, "unchanged")).to_have_text("2")
    expect(handbook.get_by_role("button", name="Sync handbook now")).to_have_text("Sync now")
    assert problems == []


def test_console_sources_admin_only(page: Page, app: LiveApp) -> None:
    """A non-admin staff key has no Sources link, and the view says it needs an admin key, as the API does."""
    problems = sign_in(page, app.url, SUPPORT_KEY)
    expect(page.get_by_role("link", name="Gap report")).to_be_visible()
    expect(page.get_by_role("link", name="Sources")).to_be_hidden()
    page.goto(app.url + "/console#sources")
    expect(page.get_by_text("Docs sources are shown to admin keys only")).to_be_visible()
    expect(page.get_by_role("article")).to_have_count(0)
    assert problems == [f"403 {app.url}/v1/admin/sources"]  # refused by the API, shown as such


def test_console_sources_empty_state_says_how_to_configure(page: Page, serve: Callable[..., LiveApp]) -> None:
    """Without named sources the view says so and names DOCENT_SOURCES_FILE."""
    app = serve([])
    problems = sign_in(page, app.url)
    page.get_by_role("link", name="Sources").click()
    expect(page.get_by_text("No named sources are configured")).to_be_visible()
    expect(page.locator("#sources-list code", has_text="DOCENT_SOURCES_FILE")).to_be_visible()
    page.get_by_role("link", name="Back to the console").click()
    expect(page.get_by_role("heading", name="Recent conversations")).to_be_visible()
    assert problems == []
