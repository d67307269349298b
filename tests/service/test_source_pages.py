"""Named sources cited at /docs/<name>/...: every citation resolves, with the source's own visibility.

A folder source without ``url_base`` cites ``/docs/<name>/<path>``; these tests sync such
sources into a real index, ask the API, and GET what it cites, through the FastAPI app.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings, SourceSettings, StaffKey
from ingest.sources.sync import sync_source
from service.app import create_app
from service.runtime import Runtime
from tests.conftest import write
from tests.ingest.test_sources_git import commit, git
from tests.service.live_server import serve_in_thread
from tests.service.mcp_client import over_http

STAFF = "staff-source-pages-key"
STAFF_HEADERS = {"X-API-Key": STAFF}


def _write_sources(tmp_path: Path) -> tuple[Path, Path, Path]:
    handbook, ops, site = tmp_path / "handbook", tmp_path / "ops", tmp_path / "site"
    write(handbook, "index.md", "# Handbook\n\nThe support handbook for Pylon customers.\n")
    write(handbook, "billing/refunds.md", """
        # Refunds
        Refunds reach the original card within five business days.
        ## Partial refunds
        A partial refund keeps the subscription active until the period ends.
        """)
    write(handbook, "secret.md", "---\nvisibility: internal\n---\n# Pricing floor\n\nNever go below nine dollars.\n")
    write(handbook, "drafts/wip.md", "# Draft refunds\n\nRefunds of drafts are pending review.\n")
    write(ops, "runbook.md", "# Runbook\n\nRestart the refund worker with the blue lever.\n")
    write(site, "about.md", "# About\n\nThe refund site lives elsewhere.\n")
    return handbook, ops, site


def _settings(tmp_path: Path, handbook: Path, ops: Path, site: Path) -> Settings:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                        llm=LLMSettings(model="docent-fake/echo-all", retries=0), watch=False,
                        sources=[SourceSettings(name="handbook", location=str(handbook), schedule_s=0,
                                                exclude=["drafts/"]),
                                 SourceSettings(name="ops", location=str(ops), schedule_s=0, visibility="internal"),
                                 SourceSettings(name="site", location=str(site), schedule_s=0,
                                                url_base="https://site.example.com/")])
    settings.auth.staff_keys = [StaffKey(name="admin", sha256=hashlib.sha256(STAFF.encode()).hexdigest(), admin=True)]
    settings.chat.verify = False  # the interface is under test here, not the verifier
    return settings


@pytest.fixture
def served(tmp_path: Path, mini_corpus: Path, edge_store: EdgeStore,
           embedder: Embedder) -> Iterator[tuple[TestClient, Runtime]]:
    """Three sources synced into a fresh index next to the mini docs folder, and a client over the app."""
    settings = _settings(tmp_path, *_write_sources(tmp_path))
    settings.docs_dir = mini_corpus
    for source in settings.sources:
        sync_source(settings, source, edge_store, embedder)
    runtime = Runtime.build(settings, store=edge_store, embedder=embedder, start_watcher=False)
    try:
        with TestClient(create_app(settings, runtime=runtime)) as client:
            yield client, runtime
    finally:
        runtime.close()


def _local(url: str) -> tuple[str, str]:
    """A citation URL as (path, anchor) on this server."""
    parts = urlsplit(url)
    return parts.path, parts.fragment


def test_source_pages_every_citation_resolves(served: tuple[TestClient, Runtime]) -> None:
    """Search and chat cite /docs/handbook/...; each cited page is served with the cited anchor."""
    client, _ = served
    results = client.post("/v1/search", json={"query": "refund card business days partial", "top_k": 10}).json()
    answer = client.post("/v1/chat", json={"message": "How long do refunds take to reach the card?"}).json()
    urls = [r["url"] for r in results["results"]] + [c["url"] for c in answer["citations"]]
    assert any(u.startswith("/docs/handbook/billing/refunds#") for u in urls), urls
    assert any(c["url"].startswith("/docs/handbook/") for c in answer["citations"])
    # Every citation is either Docent's own /docs or the source's url_base (the site source).
    assert all(u.startswith(("/docs/handbook/", "https://site.example.com/")) for u in urls), urls
    for url in (u for u in urls if u.startswith("/docs/")):
        path, anchor = _local(url)
        page = client.get(path)
        assert page.status_code == 200, url
        assert f'id="{anchor}"' in page.text, url  # the anchor the splitter computed is on the page
        assert client.get(f"{path}.md").status_code == 200, url
    home = client.get("/docs/handbook")
    assert home.status_code == 200 and "The support handbook for Pylon customers." in home.text
    assert client.get("/docs/guide/proxies").status_code == 200  # the docs folder is still served


def test_source_pages_follow_the_source_visibility(served: tuple[TestClient, Runtime]) -> None:
    """Internal source, internal page and excluded page are 404 on /docs for anyone; staff read the
    internal ones in the console, never the excluded one; a source with url_base is not served here."""
    client, _ = served
    for path in ("/docs/ops/runbook", "/docs/ops/runbook.md", "/docs/handbook/secret", "/docs/handbook/secret.md",
                 "/docs/handbook/drafts/wip", "/docs/handbook/drafts/wip.md", "/docs/site/about", "/docs/ops"):
        assert client.get(path).status_code == 404, path
        assert client.get(path, headers=STAFF_HEADERS).status_code == 404, path
    for path in ("ops/runbook", "handbook/secret"):
        page = client.get(f"/v1/console/docs/{path}", headers=STAFF_HEADERS)
        assert page.status_code == 200 and page.json()["visibility"] == "internal", path
    assert client.get("/v1/console/docs/handbook/drafts/wip", headers=STAFF_HEADERS).status_code == 404
    assert client.get("/v1/console/docs/ops/runbook").status_code == 401
    found = client.post("/v1/search", json={"query": "blue lever refund worker pricing floor", "top_k": 20}).json()
    assert not [r for r in found["results"] if r["doc_path"].startswith(("ops/", "handbook/secret"))]


def test_source_pages_refuse_traversal(served: tuple[TestClient, Runtime], tmp_path: Path) -> None:
    """Dot segments, encoded or not, and a symlink out of the source folder find nothing."""
    client, _ = served
    outside = write(tmp_path, "outside.md", "# Outside\n\nOUTSIDE-SECRET text.\n")
    (tmp_path / "handbook" / "escape.md").symlink_to(outside)
    for path in ("/docs/handbook/../../etc/passwd", "/docs/handbook/%2e%2e/%2e%2e/etc/passwd",
                 "/docs/handbook/..%2f..%2fetc/passwd", "/docs/handbook/%2e%2e/outside",
                 "/docs/handbook/%2e%2e/outside.md", "/docs/handbook/escape", "/docs/handbook/escape.md",
                 "/docs/handbook/.hidden", "/docs/handbook/billing/%2e%2e/%2e%2e/%2e%2e/pyproject.toml"):
        r = client.get(path)
        assert r.status_code == 404 and "OUTSIDE-SECRET" not in r.text and "root:" not in r.text, path
    assert "OUTSIDE-SECRET" not in client.get("/llms-full.txt").text


def test_source_pages_listed_in_llms_txt_and_nav(served: tuple[TestClient, Runtime]) -> None:
    """llms.txt, llms-full.txt and the /docs nav list the public source pages under the source's name, only those."""
    client, _ = served
    text = client.get("/llms.txt").text
    assert "## Handbook" in text and "## Guide" in text
    assert "- [Refunds](http://testserver/docs/handbook/billing/refunds.md): Refunds reach the original card" in text
    assert "(http://testserver/docs/handbook.md)" in text
    for hidden in ("Pricing floor", "Draft refunds", "Runbook", "About"):
        assert hidden not in text, hidden
    for line in (x for x in text.splitlines() if x.startswith("- [")):
        url = line.split("](", 1)[1].split(")", 1)[0]
        assert client.get(url.removeprefix("http://testserver")).status_code == 200, url
    full = client.get("/llms-full.txt").text
    assert "<!-- source: http://testserver/docs/handbook/billing/refunds -->" in full
    assert "nine dollars" not in full and "blue lever" not in full and "pending review" not in full
    nav = client.get("/docs").text
    assert "<h2>Handbook</h2>" in nav and 'href="/docs/handbook/billing/refunds"' in nav
    assert "/docs/ops" not in nav and "/docs/handbook/secret" not in nav


def test_source_pages_mcp_get_page(served: tuple[TestClient, Runtime]) -> None:
    """MCP get_page reads a source page by URL or llms.txt link; an internal source's page only with a staff key."""
    _, runtime = served
    with serve_in_thread(create_app(runtime.settings, runtime=runtime), runtime.settings) as url:
        _, (page, by_md, internal) = over_http(f"{url}/mcp", [
            ("get_page", {"path": f"{url}/docs/handbook/billing/refunds#partial-refunds"}),
            ("get_page", {"path": "/docs/handbook/billing/refunds.md"}),
            ("get_page", {"path": "/docs/ops/runbook"}),
        ])
        _, (staff,) = over_http(f"{url}/mcp", [("get_page", {"path": "/docs/ops/runbook"})], headers=STAFF_HEADERS)
    assert not page.is_error and page.text.startswith("# Refunds\n") and page.text == by_md.text
    assert internal.is_error and "blue lever" not in internal.text
    assert not staff.is_error and "blue lever" in staff.text


def test_source_pages_name_collision_is_a_config_error(tmp_path: Path) -> None:
    """A docs-folder folder or page named like a source fails at start-up, saying what to rename."""
    docs = tmp_path / "docs"
    for entry in ("handbook/faq.md", "handbook.md"):
        write(docs, entry, "# FAQ\n\nQuestions.\n")
        with pytest.raises(ValidationError, match="source 'handbook' and .* both claim .* /docs/handbook"):
            Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=docs,
                     sources=[SourceSettings(name="handbook", location=str(tmp_path))])
        path = docs / entry
        path.unlink()
        if path.parent != docs:
            path.parent.rmdir()
    write(docs, "handbook-old/faq.md", "# FAQ\n\nQuestions.\n")  # a different name is fine
    Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=docs,
             sources=[SourceSettings(name="handbook", location=str(tmp_path))])


def test_source_pages_shadow_a_late_docs_folder(served: tuple[TestClient, Runtime]) -> None:
    """A docs-folder folder named like a source, made after start-up, is neither served nor listed: the source wins."""
    client, runtime = served
    write(runtime.settings.docs_dir, "handbook/late.md", "# Late page\n\nA page that came too late.\n")
    write(runtime.settings.docs_dir, "handbook.md", "# Shadowed home\n\nShadowed.\n")
    assert client.get("/docs/handbook/late").status_code == 404
    assert "Shadowed home" not in client.get("/docs/handbook").text
    assert "Late page" not in client.get("/llms.txt").text and "Shadowed home" not in client.get("/docs").text


def test_source_pages_serve_a_git_checkout(tmp_path: Path, settings: Settings, edge_store: EdgeStore,
                                           embedder: Embedder) -> None:
    """A git source with no file URL cites /docs/<name>/...; the page is served from its checkout's
    subfolder, and nothing outside that subfolder is."""
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    write(upstream, "docs/install.md", "# Install\n\nRun the installer with --fast to skip the checks.\n")
    write(upstream, "README.md", "# Readme\n\nREADME-OUTSIDE the docs subfolder.\n")
    commit(upstream, "first")
    source = SourceSettings(name="repo", kind="git", location=f"file://{upstream}", subfolder="docs", schedule_s=0)
    settings.sources = [source]
    settings.llm = LLMSettings(model="docent-fake/echo-cite", retries=0)
    sync_source(settings, source, edge_store, embedder)
    runtime = Runtime.build(settings, store=edge_store, embedder=embedder, start_watcher=False)
    try:
        with TestClient(create_app(settings, runtime=runtime)) as client:
            hits = client.post("/v1/search", json={"query": "installer fast checks"}).json()["results"]
            assert hits and all(h["url"].startswith("/docs/repo/install#") for h in hits)
            assert client.get(_local(hits[0]["url"])[0]).status_code == 200
            assert "## Repo" in client.get("/llms.txt").text
            for path in ("/docs/repo/README", "/docs/repo/%2e%2e/README", "/docs/repo/%2e%2e/docs/install"):
                r = client.get(path)
                assert r.status_code == 404 and "README-OUTSIDE" not in r.text, path
    finally:
        runtime.close()
