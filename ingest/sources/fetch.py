"""HTTP for the website source: every hop checked by the SSRF guard, robots.txt and its crawl
delay obeyed per host, bodies capped while they stream, conditional requests."""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from docent.settings import SourceSettings
from ingest.sources.ssrf import Refused, check, check_peer, host_of

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(slots=True)
class Response:
    """One finished GET after redirects: ``body`` is None for 304 and for refused content."""

    url: str  # after redirects
    status: int
    content_type: str
    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None


def _peer_check(resp: httpx.Response, allow_private: bool) -> None:
    # The address the connection really reached: closes the gap between our DNS lookup
    # in ``check`` and httpx's own (a name that re-resolves to 127.0.0.1 or 169.254.169.254).
    stream = resp.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    check_peer(str(peer[0]) if peer else None, allow_private)


class TooLarge(Exception):
    """The body passed the source's per-page byte cap."""


class Fetcher:
    """A source's HTTP client: allowed hosts only, bounded bodies, polite per host."""

    def __init__(self, source: SourceSettings, hosts: frozenset[str]) -> None:
        self.source = source
        self.hosts = hosts
        self.client = httpx.Client(timeout=source.timeout_s, follow_redirects=False, trust_env=False,
                                   headers={"User-Agent": source.user_agent})
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._next: dict[str, float] = {}  # per host: earliest start of the next request
        self._lock = threading.Lock()
        self.problems: list[str] = []  # robots.txt that could not be read (its host is then skipped)

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, conditional: Callable[[str], dict[str, str]] | None = None, *, robots: bool = True,
            accept: tuple[str, ...] = ()) -> Response:
        """GET ``url``, following redirects onto allowed hosts only. ``conditional`` gives each hop's
        validator headers (a redirect's target has its own). ``accept``: content type prefixes whose
        body is read (others come back with ``body=None``). Raises ``Refused``, ``TooLarge`` or
        ``httpx.HTTPError``."""
        for _ in range(MAX_REDIRECTS + 1):
            check(url, self.hosts, self.source.allow_private)  # again after every redirect
            if robots and not self.allowed(url):
                raise Refused("disallowed by robots.txt")
            self._wait(host_of(url))
            headers = conditional(url) if conditional is not None else {}
            with self.client.stream("GET", url, headers=headers) as resp:
                _peer_check(resp, self.source.allow_private)  # before any of the body is read
                if resp.status_code in _REDIRECTS and "location" in resp.headers:
                    url = urljoin(url, resp.headers["location"])
                    continue
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                body = None
                if resp.status_code == 200 and ctype.startswith(accept or ("",)):
                    body = self._read(resp)
                return Response(url, resp.status_code, ctype, body, resp.headers.get("etag"),
                                resp.headers.get("last-modified"))
        raise Refused(f"more than {MAX_REDIRECTS} redirects")

    def _read(self, resp: httpx.Response) -> bytes:
        cap = self.source.max_page_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"{int(declared)} bytes > {cap} byte cap")
        chunks, total = [], 0
        for chunk in resp.iter_bytes():
            total += len(chunk)
            if total > cap:  # a lying or missing Content-Length: stop reading, drop the connection
                raise TooLarge(f"more than {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _wait(self, host: str) -> None:
        delay = self.crawl_delay(host)
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + delay
        if start > now:
            time.sleep(start - now)

    def crawl_delay(self, host: str) -> float:
        parser = self._robots.get(host)
        delay = parser.crawl_delay(self.source.user_agent) if parser is not None else None
        return float(delay or 0.0)

    def allowed(self, url: str) -> bool:
        """robots.txt's answer for ``url`` (fetched once per host and crawl)."""
        parts = urlsplit(url)
        host = host_of(url)
        with self._lock:
            known = host in self._robots
        if not known:
            self._load_robots(host, f"{parts.scheme}://{parts.netloc}/robots.txt")
        parser = self._robots.get(host)
        # No parser: robots.txt could not be read (5xx, timeout): RFC 9309 says assume disallowed.
        return parser is not None and parser.can_fetch(self.source.user_agent, url)

    def _load_robots(self, host: str, robots_url: str) -> None:
        parser: urllib.robotparser.RobotFileParser | None = urllib.robotparser.RobotFileParser(robots_url)
        try:
            resp = self.get(robots_url, robots=False, accept=("text/",))
            assert parser is not None
            if resp.status == 200 and resp.body is not None:
                parser.parse(resp.body.decode("utf-8", "replace").splitlines())
            elif 400 <= resp.status < 500:
                parser.parse([])  # no robots.txt: everything allowed
            else:
                raise ValueError(f"HTTP {resp.status}")
        except (httpx.HTTPError, Refused, TooLarge, ValueError) as exc:
            parser = None
            self.problems.append(f"{robots_url}: not readable ({exc}), so nothing on {host} is fetched")
        with self._lock:
            self._robots[host] = parser
