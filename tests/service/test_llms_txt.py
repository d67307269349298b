"""/llms.txt, /llms-full.txt and /docs/{path}.md: public pages only, decided as /docs decides."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from service.app import create_app
from service.runtime import Runtime
from tests.conftest import write
from tests.service.conftest import STAFF_KEY


def _client(make_runtime: Callable[..., Runtime], docs: Path) -> TestClient:
    runtime = make_runtime()
    runtime.settings.docs_dir = docs
    client = TestClient(create_app(runtime.settings, runtime=runtime))
    client.__enter__()
    return client


def test_llms_txt_lists_public_pages_with_descriptions(make_runtime: Callable[..., Runtime],
                                                       mini_corpus: Path) -> None:
    """The index links each public page's Markdown with its first sentence; internal pages are absent."""
    client = _client(make_runtime, mini_corpus)
    r = client.get("/llms.txt", headers={"X-API-Key": STAFF_KEY})  # a staff key changes nothing here
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert text.startswith("# Documentation\n") and "## Guide" in text and "## Billing" in text
    assert "- [Proxies](http://testserver/docs/guide/proxies.md): Pylon can reach storage through a proxy." in text
    assert "Escalation" not in text and "Discount" not in text and "internal" not in text
    for line in (x for x in text.splitlines() if x.startswith("- [")):
        url = line.split("](", 1)[1].split(")", 1)[0]
        assert client.get(url.removeprefix("http://testserver")).status_code == 200


def test_llms_full_and_page_markdown_hold_public_text_only(make_runtime: Callable[..., Runtime],
                                                           mini_corpus: Path) -> None:
    """llms-full.txt has every public page's Markdown and no internal text; internal .md pages are 404."""
    client = _client(make_runtime, mini_corpus)
    full = client.get("/llms-full.txt").text
    page = client.get("/docs/guide/proxies.md")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/markdown")
    assert page.text.startswith("# Proxies\n") and "`proxy.password_file`" in page.text
    assert page.text in full and "| Business | $29 | 250 |" in full
    assert "CANARY-1234ABCD" not in full and "15 percent" not in full
    for path in ("/docs/internal/escalation.md", "/docs/internal/discounts.md", "/docs/nope.md",
                 "/docs/../pyproject.toml.md"):
        assert client.get(path, headers={"X-API-Key": STAFF_KEY}).status_code == 404, path
    assert client.get("/docs/guide/proxies").headers["content-type"].startswith("text/html")  # HTML stays


def test_llms_page_flipped_to_internal_disappears(make_runtime: Callable[..., Runtime], mini_corpus: Path) -> None:
    """A page whose front matter turns internal leaves llms.txt, llms-full.txt and its .md at once."""
    client = _client(make_runtime, mini_corpus)
    assert "Plans" in client.get("/llms.txt").text
    path = write(mini_corpus, "billing/plans.md", """
        ---
        title: Plans
        visibility: internal
        ---
        # Plans
        | Plan | Price | Seats |
        |---|---|---|
        | Team | $12 | 25 |
        """)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a new mtime for the page cache
    assert "Plans" not in client.get("/llms.txt").text
    assert "$12" not in client.get("/llms-full.txt").text
    assert client.get("/docs/billing/plans.md").status_code == 404
