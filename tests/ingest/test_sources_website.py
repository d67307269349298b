"""The website source against a real threaded HTTP server on a loopback port.

The site is built at test time (pages of docs-corpus/ rendered to HTML, plus our own), with a
sitemap.xml and a robots.txt, and changed between syncs.
"""

from __future__ import annotations

import email.utils
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings, SourceSettings
from ingest.sources.ssrf import Refused, check
from ingest.sources.sync import sync_source
from tests.conftest import REPO
from tests.ingest.test_formats_pdf import PAGES, _pdf
from tests.ingest.test_pipeline_incremental import CountingEmbedder

LAST_MODIFIED = email.utils.formatdate(1_700_000_000, usegmt=True)


@dataclass
class Route:
    """What the server answers for one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    location: str = ""
    delay: float = 0.0
    stream_bytes: int = 0  # send this many bytes with no Content-Length (a huge page)
    etag: bool = True  # False: only Last-Modified validates (If-Modified-Since)


@dataclass
class Site:
    """A threaded http.server on 127.0.0.1 whose routes a test changes between syncs."""

    routes: dict[str, Route] = field(default_factory=dict)
    log: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    answered: list[tuple[str, int]] = field(default_factory=list)  # (path, status) of each answer
    port: int = 0
    in_flight: int = 0
    peak: int = 0  # most requests being answered at once
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page(self, path: str, title: str, text: str, links: tuple[str, ...] = (), canonical: str = "") -> None:
        """Serve an HTML page with navigation and footer around the main content."""
        nav = "".join(f'<a href="{link}">{link}</a> ' for link in links)
        head = f'<link rel="canonical" href="{canonical}">' if canonical else ""
        html = (f"<html><head><title>{title} | Example Docs</title>{head}</head><body>"
                f"<nav>Home Products Pricing {nav}</nav><main><article>{text}</article></main>"
                "<footer>Cookie settings. Accept all cookies. Copyright Example Inc.</footer></body></html>")
        self.routes[path] = Route(html.encode())

    def sitemap(self, paths: list[str]) -> None:
        locs = "".join(f"<url><loc>{self.base}{p}</loc></url>" for p in paths)
        self.routes["/sitemap.xml"] = Route(
            f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
            .encode(), content_type="application/xml")

    def requests(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.log if p == path]


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            site.log.append((self.path, {**{k.lower(): v for k, v in self.headers.items()},
                                         "_at": str(time.monotonic())}))
            with site.lock:
                site.in_flight += 1
                site.peak = max(site.peak, site.in_flight)
            try:
                self._answer()
            finally:
                with site.lock:
                    site.in_flight -= 1

        def send_response(self, code: int, message: str | None = None) -> None:
            site.answered.append((self.path, code))
            super().send_response(code, message)

        def _answer(self) -> None:
            route = site.routes.get(self.path.split("?")[0] if self.path not in site.routes else self.path)
            if route is None:
                self.send_error(404)
                return
            if route.delay:
                time.sleep(route.delay)
            etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            fresh = (self.headers.get("If-None-Match") == etag if route.etag
                     else self.headers.get("If-Modified-Since") == LAST_MODIFIED)
            if route.status == 200 and fresh:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(route.status)
            if route.location:
                self.send_header("Location", route.location)
            self.send_header("Content-Type", route.content_type)
            if route.etag:
                self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            try:
                if route.stream_bytes:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    block = b"<p>" + b"x" * 65_000 + b"</p>"
                    for _ in range(route.stream_bytes // len(block)):
                        self.wfile.write(block)
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the crawler hung up on a capped page

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    """A running loopback site; stopped after the test."""
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def corpus_pages(limit: int) -> list[tuple[str, str, str]]:
    """(path, title, html) for docs-corpus pages rendered with markdown-it, headings given ids."""
    md = MarkdownIt("commonmark").enable("table")
    out = []
    for file in sorted((REPO / "docs-corpus").rglob("*.md"))[:limit]:
        text = file.read_text()
        if text.startswith("---"):
            text = text.split("---", 2)[2]
        html = md.render(text)
        for level in range(1, 4):  # ids like a docs site's, for #anchor citations
            html = html.replace(f"<h{level}>", f'<h{level} id="s{level}">', 1)
        rel = file.relative_to(REPO / "docs-corpus").with_suffix(".html").as_posix()
        out.append((f"/{rel}", file.stem.replace("-", " ").title(), html))
    return out


@pytest.fixture
def no_outside_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and refuse) every DNS lookup or connect to a non-loopback address, as test_offline does."""
    attempts: list[Any] = []

    def loopback(host: object) -> bool:
        return str(host) in ("localhost", "::1", "") or str(host).startswith("127.")

    real_connect, real_gai = socket.socket.connect, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not loopback(address[0]):
            attempts.append(("connect", address))
            raise OSError(101, "Network is unreachable")
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not loopback(host):
            attempts.append(("getaddrinfo", host))
            raise socket.gaierror(-3, "Temporary failure in name resolution")
        return real_gai(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def _source(site: Site, **extra: Any) -> SourceSettings:
    values: dict[str, Any] = {"name": "site", "kind": "website", "location": f"{site.base}/index.html",
                              "allow_private": True, "timeout_s": 1.0, "max_page_bytes": 1_000_000,
                              "concurrency": 4, **extra}
    return SourceSettings(**values)


def _docs(store: EdgeStore) -> dict[str, list[dict[str, Any]]]:
    index = store.open_active()
    assert index is not None
    inv = index.inventory()
    out: dict[str, list[dict[str, Any]]] = {}
    for payload in index.payloads([cid for entry in inv.values() for cid in entry.ids]).values():
        out.setdefault(payload["doc_path"], []).append(payload)
    return out


def test_website_sitemap_sync_adds_changes_and_removes(settings: Settings, edge_store: EdgeStore,
                                                       embedder: Embedder, site: Site,
                                                       no_outside_network: list[Any]) -> None:
    """Between syncs: unchanged pages are 304s and not re-embedded; a change re-embeds one page;
    404 and leaving the sitemap delete; 500, slow and 20 MB pages keep their last copy and are reported."""
    pages = corpus_pages(3)
    for path, title, html in pages:
        site.page(path, title, html)
    site.page("/moved-here.html", "Moved", "<h1 id='moved'>Moved page</h1><p>The archive export runs nightly "
              "at two in the morning and keeps thirty days of history for every workspace.</p>")
    site.routes["/old-url"] = Route(status=301, location="/moved-here.html")
    site.page("/flaky.html", "Flaky", "<h1>Flaky</h1><p>Webhook deliveries are retried five times with "
              "exponential backoff before the endpoint is disabled by the platform.</p>")
    site.page("/slow.html", "Slow", "<h1>Slow</h1><p>Slow pages still matter; this one explains the quota "
              "reset that happens on the first day of each calendar month for all plans.</p>")
    site.routes["/huge.html"] = Route(stream_bytes=20_000_000)
    site.page("/private/secret.html", "Secret", "<h1>Secret</h1><p>Never crawl me.</p>")
    site.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    listed = [p for p, _, _ in pages] + ["/old-url", "/flaky.html", "/slow.html", "/huge.html",
                                         "/private/secret.html"]
    site.sitemap(listed)
    source = _source(site, sitemap=f"{site.base}/sitemap.xml", location=site.base + "/")
    counting = CountingEmbedder(embedder)

    first, _ = sync_source(settings, source, edge_store, counting)
    docs = _docs(edge_store)
    names = {p.rsplit("/", 1)[-1] for p in docs}
    assert names == {"moved-here.md", "flaky.md", "slow.md"} | {Path(p).stem + ".md" for p, _, _ in pages}
    assert first.added == 6 and first.failed == 1 and "too large" in " ".join(first.errors)
    assert site.requests("/private/secret.html") == []  # robots.txt obeyed
    moved = next(v for k, v in docs.items() if k.endswith("moved-here.md"))
    assert moved[0]["url"] == f"{site.base}/moved-here.html#moved"  # heading id kept for the citation
    assert not any("Cookie" in p["text"] or "Pricing" in p["text"] for v in docs.values() for p in v)

    counting.embedded.clear()
    site.log.clear()
    second, _ = sync_source(settings, source, edge_store, counting)
    assert second.unchanged == 6 and second.added == second.changed == second.deleted == 0
    assert counting.embedded == []
    assert all(h.get("if-none-match") for p, h in site.log if p.endswith(".html") and p != "/huge.html")

    changed_path, title, html = pages[1]
    site.page(changed_path, title, html + "<p>New in this release: exports can be scheduled weekly.</p>")
    del site.routes[pages[0][0]]  # now 404
    site.routes["/flaky.html"] = Route(status=500)
    site.routes["/slow.html"].delay = 2.5
    site.sitemap([p for p in listed if p != "/old-url"])  # the moved page leaves the sitemap
    counting.embedded.clear()
    third, _ = sync_source(settings, source, edge_store, counting)
    names = {p.rsplit("/", 1)[-1] for p in _docs(edge_store)}
    assert Path(pages[0][0]).stem + ".md" not in names and "moved-here.md" not in names
    assert {"flaky.md", "slow.md", Path(changed_path).stem + ".md"} <= names
    assert third.deleted == 2 and third.changed == 1
    errors = " ".join(third.errors)
    assert "HTTP 500" in errors and "Timeout" in errors
    assert counting.embedded and all("weekly" in t or title in t for t in counting.embedded)
    assert no_outside_network == []


def test_website_link_crawl_loop_duplicates_and_offhost(settings: Settings, edge_store: EdgeStore,
                                                        embedder: Embedder, site: Site,
                                                        no_outside_network: list[Any]) -> None:
    """Following links: a loop ends, a canonical duplicate is dropped, other hosts are never contacted."""
    body = "<p>Single sign-on works with any SAML 2.0 identity provider; upload the metadata XML first.</p>"
    site.page("/index.html", "Home", "<h1>Home</h1>" + body.replace("Single", "Home: single"),
              links=("/a.html", "http://example.org/elsewhere", "/off-host", "/a.html?ref=nav", "/file.zip",
                     "/manual.pdf"))
    site.routes["/manual.pdf"] = Route(_pdf(PAGES, (("Installing Acme", 0), ("Configuring Acme", 1))),
                                       content_type="application/pdf")
    site.page("/a.html", "A", "<h1 id='a'>A</h1>" + body, links=("/b.html",))
    site.page("/b.html", "B", "<h1>B</h1>" + body.replace("SAML", "OIDC"), links=("/a.html", "/index.html"))
    site.routes["/a.html?ref=nav"] = Route(site.routes["/a.html"].body.replace(
        b"<head>", f'<head><link rel="canonical" href="{site.base}/a.html">'.encode()))
    site.routes["/off-host"] = Route(status=302, location=f"http://localhost:{site.port}/a.html")
    site.routes["/file.zip"] = Route(b"PK\x03\x04", content_type="application/zip")
    site.routes["/robots.txt"] = Route(b"", status=404)
    state, _ = sync_source(settings, _source(site), edge_store, embedder)
    docs = _docs(edge_store)
    names = sorted(p.rsplit("/", 1)[-1] for p in docs)
    assert names == ["a.md", "b.md", "index.md", "manual.pdf"]  # the PDF link went to the PDF parser
    pdf = next(v for k, v in docs.items() if k.endswith(".pdf"))
    assert {p["url"] for p in pdf} >= {f"{site.base}/manual.pdf#page=1", f"{site.base}/manual.pdf#page=2"}
    assert "refused" in " ".join(state.errors) and "localhost" in " ".join(state.errors)
    assert len(site.requests("/a.html")) == 1 and len(site.requests("/b.html")) == 1
    assert no_outside_network == []


def test_website_page_cap_keeps_unreached_pages(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                                site: Site) -> None:
    """A crawl stopped by max_pages deletes nothing it did not reach, and says so."""
    text = "<p>Audit logs are kept for one year and can be streamed to a SIEM over syslog or HTTPS.</p>"
    site.page("/index.html", "Home", "<h1>Home</h1>" + text, links=("/p1.html",))
    site.page("/p1.html", "P1", "<h1>P1</h1>" + text.replace("one year", "two years"), links=("/p2.html",))
    site.page("/p2.html", "P2", "<h1>P2</h1>" + text.replace("one year", "three years"))
    sync_source(settings, _source(site), edge_store, embedder)
    assert len(_docs(edge_store)) == 3
    state, _ = sync_source(settings, _source(site, max_pages=1), edge_store, embedder)
    assert len(_docs(edge_store)) == 3 and "nothing deleted" in " ".join(state.errors)
    for path in ("/index.html", "/p1.html", "/p2.html"):
        site.routes[path].delay = 0.4
    state, _ = sync_source(settings, _source(site, max_seconds=0.2, concurrency=1), edge_store, embedder)
    assert len(_docs(edge_store)) == 3 and "nothing deleted" in " ".join(state.errors)  # the time cap
    last = {path: float(site.requests(path)[-1]["_at"]) for path in ("/index.html", "/p2.html")}
    assert last["/p2.html"] < last["/index.html"]  # the crawl stopped before reaching it again


def test_website_obeys_crawl_delay(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                   site: Site) -> None:
    """robots.txt's Crawl-delay spaces the requests to a host, even with several workers."""
    text = "<p>Backups run hourly and are kept for thirty days in two regions.</p>"
    site.page("/index.html", "Home", "<h1>Home</h1>" + text, links=("/p1.html", "/p2.html"))
    site.page("/p1.html", "P1", "<h1>P1</h1>" + text.replace("hourly", "daily"))
    site.page("/p2.html", "P2", "<h1>P2</h1>" + text.replace("hourly", "weekly"))
    site.routes["/robots.txt"] = Route(b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain")
    sync_source(settings, _source(site, concurrency=4), edge_store, embedder)
    times = sorted(float(h["_at"]) for p, h in site.log if p.endswith(".html"))
    assert len(times) == 3 and all(b - a >= 0.9 for a, b in zip(times, times[1:], strict=False))


def test_ssrf_guard_refuses_private_and_unlisted_hosts(settings: Settings, edge_store: EdgeStore,
                                                       embedder: Embedder, site: Site) -> None:
    """Loopback, link-local and private addresses and unlisted hosts are refused before any request."""
    hosts = frozenset({"127.0.0.1", "169.254.169.254", "10.0.0.1"})
    for url in ("http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"):
        with pytest.raises(Refused, match="private, loopback or link-local"):
            check(url, hosts, allow_private=False)
    with pytest.raises(Refused, match="not one of the source's hosts"):
        check("http://evil.example/", hosts, allow_private=True)
    with pytest.raises(Refused, match="not http"):
        check("file:///etc/passwd", hosts, allow_private=True)
    site.page("/index.html", "Home", "<h1>Home</h1><p>text</p>")
    state, _ = sync_source(settings, _source(site, allow_private=False), edge_store, embedder)
    assert site.log == [] and "loopback" in " ".join(state.errors)


def test_ssrf_guard_checks_the_connected_address(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                                 site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that resolves public for the check and then to loopback (DNS rebinding) yields nothing."""
    site.page("/index.html", "Home", "<h1>Home</h1><p>Internal admin panel secrets.</p>")
    real = socket.getaddrinfo
    calls: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "docs.test":
            return real(host, port, *args, **kwargs)
        calls.append(host)
        # Public for the guard's own lookup (ssrf.check passes type=), loopback for the connection's.
        address = "93.184.216.34" if "type" in kwargs else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    source = _source(site, location=f"http://docs.test:{site.port}/index.html", allow_private=False)
    state, _ = sync_source(settings, source, edge_store, embedder)
    index = edge_store.open_active()
    assert index is None or index.inventory() == {}
    assert "connected to 127.0.0.1" in " ".join(state.errors)


def _listed_site(site: Site, count: int) -> list[str]:
    """``count`` distinct pages, all listed in the sitemap; their paths."""
    topics = ("invoices", "webhooks", "exports", "quotas", "backups", "audit logs", "tokens", "regions",
              "retention", "alerts", "billing", "roles")
    paths = []
    for i in range(count):
        topic = topics[i % len(topics)]
        path = f"/guide/p{i}.html"
        site.page(path, f"Page {i}", f"<h1 id='p{i}'>Page {i}</h1><p>Page {i} explains {topic}: the setting "
                  f"lives under Settings, takes effect within {i + 2} minutes, and applies to every workspace.</p>")
        paths.append(path)
    site.sitemap(paths)
    return paths


def test_website_resync_adds_new_page_and_410_deletes(settings: Settings, edge_store: EdgeStore,
                                                      embedder: Embedder, site: Site,
                                                      no_outside_network: list[Any]) -> None:
    """A page added to the sitemap between syncs is indexed alone; a page answering 410 loses its chunks."""
    paths = _listed_site(site, 3)
    source = _source(site, sitemap=f"{site.base}/sitemap.xml", location=site.base + "/")
    counting = CountingEmbedder(embedder)
    assert sync_source(settings, source, edge_store, counting)[0].added == 3
    site.page("/guide/new.html", "New", "<h1 id='new'>New</h1><p>Single sign-on now supports SCIM "
              "provisioning for every identity provider on the enterprise plan.</p>")
    site.routes[paths[0]] = Route(status=410)
    site.sitemap([*paths, "/guide/new.html"])  # the gone page is still listed: 410 alone deletes it
    counting.embedded.clear()
    state, _ = sync_source(settings, source, edge_store, counting)
    assert (state.added, state.deleted, state.changed, state.unchanged) == (1, 1, 0, 2)
    names = {p.rsplit("/", 1)[-1] for p in _docs(edge_store)}
    assert names == {"p1.md", "p2.md", "new.md"}
    assert counting.embedded and all("SCIM" in t or "New" in t for t in counting.embedded)
    assert no_outside_network == []


def test_website_last_modified_alone_makes_conditional_requests(settings: Settings, edge_store: EdgeStore,
                                                                embedder: Embedder, site: Site) -> None:
    """A server with no ETag: the re-sync sends If-Modified-Since, gets 304s, downloads and embeds nothing."""
    paths = _listed_site(site, 3)
    for path in paths:
        site.routes[path].etag = False
    source = _source(site, sitemap=f"{site.base}/sitemap.xml", location=site.base + "/")
    counting = CountingEmbedder(embedder)
    sync_source(settings, source, edge_store, counting)
    counting.embedded.clear()
    site.log.clear()
    site.answered.clear()
    state, _ = sync_source(settings, source, edge_store, counting)
    assert state.unchanged == 3 and state.added == state.changed == state.deleted == 0
    assert all(site.requests(p)[0].get("if-modified-since") == LAST_MODIFIED for p in paths)
    assert all("if-none-match" not in site.requests(p)[0] for p in paths)
    assert sorted(code for p, code in site.answered if p in paths) == [304, 304, 304]
    assert counting.embedded == []
    # --full asks without validators: every page is downloaded again (and still not re-embedded).
    site.answered.clear()
    sync_source(settings, source, edge_store, counting, full=True)
    assert sorted(code for p, code in site.answered if p in paths) == [200, 200, 200]
    assert counting.embedded == []


def test_website_concurrency_is_bounded(settings: Settings, edge_store: EdgeStore, embedder: Embedder,
                                        site: Site) -> None:
    """No more than ``concurrency`` requests are ever in flight at once, and more than one is."""
    paths = _listed_site(site, 12)
    for path in paths:
        site.routes[path].delay = 0.3
    source = _source(site, sitemap=f"{site.base}/sitemap.xml", location=site.base + "/", concurrency=3)
    state, _ = sync_source(settings, source, edge_store, embedder)
    assert state.added == 12 and state.failed == 0
    assert site.peak == 3


def test_no_outside_network_guard_records_attempts(no_outside_network: list[Any]) -> None:
    """The guard the crawl tests rely on really refuses and records a lookup or connect off the loopback."""
    with pytest.raises(OSError):
        socket.getaddrinfo("example.org", 80)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError):
        sock.connect(("192.0.2.1", 80))
    assert [kind for kind, _ in no_outside_network] == ["getaddrinfo", "connect"]


def test_website_redirect_onto_a_second_allowed_host_is_followed(settings: Settings, edge_store: EdgeStore,
                                                                 embedder: Embedder, site: Site,
                                                                 no_outside_network: list[Any]) -> None:
    """A redirect to another host the source lists is followed and indexed under the URL it landed on."""
    site.page("/index.html", "Home", "<h1>Home</h1><p>Start here: the quick start covers installing the agent "
              "and connecting the first workspace.</p>", links=("/go",))
    site.page("/target.html", "Target", "<h1 id='t'>Target</h1><p>Rate limits reset every minute; a burst "
              "above six hundred requests receives HTTP 429 with a Retry-After header.</p>")
    site.routes["/go"] = Route(status=302, location=f"http://localhost:{site.port}/target.html")
    state, _ = sync_source(settings, _source(site, hosts=["127.0.0.1", "localhost"]), edge_store, embedder)
    docs = _docs(edge_store)
    target = next(v for k, v in docs.items() if k.endswith("target.md"))
    assert target[0]["url"] == f"http://localhost:{site.port}/target.html#t" and state.failed == 0
    assert no_outside_network == []
