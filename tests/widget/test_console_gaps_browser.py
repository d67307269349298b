"""The console's gap report in a real browser: the view opens without script errors and Download CSV downloads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings
from service.app import create_app
from service.runtime import Runtime
from tests.service.conftest import staff_keys
from tests.service.live_server import serving
from tests.widget.conftest import LiveApp
from tests.widget.test_console_sources import sign_in

pytestmark = pytest.mark.slow  # needs a browser


@pytest.fixture(scope="module")
def app(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """A server over a fresh index, with one customer question it could not answer."""
    with ExitStack() as stack:
        tmp = tmp_path_factory.mktemp("gaps")
        settings = Settings(_env_file=None, data_dir=tmp / "data", docs_dir=tmp / "docs", watch=False,
                            llm=LLMSettings(model="docent-fake/echo-cite", retries=0))
        settings.auth.staff_keys = staff_keys()
        store = EdgeStore(settings.store_dir, role="test")
        stack.callback(store.close)
        runtime = Runtime.build(settings, store=store, embedder=embedder, start_watcher=False)
        stack.callback(runtime.close)
        yield LiveApp(stack.enter_context(serving(create_app(settings, runtime=runtime))), runtime)


def test_console_gaps_download_csv_saves_the_report(page: Page, app: LiveApp, tmp_path: Path) -> None:
    """Download CSV in the gap report saves docent-gaps.csv with the CSV API's header row."""
    problems = sign_in(page, app.url)
    page.get_by_role("link", name="Gap report").click()
    expect(page.get_by_role("heading", name="Gap report")).to_be_visible()
    with page.expect_download(timeout=15000) as info:
        page.get_by_role("button", name="Download CSV").click()
    assert info.value.suggested_filename == "docent-gaps.csv"
    target = tmp_path / "gaps.csv"
    info.value.save_as(target)
    csv_api = page.request.get(app.url + "/v1/console/gaps.csv",
                               headers={"X-API-Key": page.evaluate("sessionStorage.getItem('docent:console:key')")})
    assert target.read_text().splitlines()[0] == csv_api.text().splitlines()[0]
    assert problems == []
