"""The website source: crawl a docs site (a start URL's links, or a sitemap.xml's list) into
``<home>/pages/`` as Markdown files with front matter (title, canonical URL), plus PDFs.

``<home>/manifest.json`` remembers each page's validators (ETag, Last-Modified) and links, so a
re-sync asks ``If-None-Match`` / ``If-Modified-Since`` and an unchanged page is neither
downloaded nor re-embedded. 404/410, or leaving the sitemap, deletes a page; a timeout or a
5xx keeps its last good copy and is reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pathspec

from docent.settings import SourceSettings
from ingest.changelog import write_atomic
from ingest.sources.extract import extract
from ingest.sources.fetch import Fetcher, Response, TooLarge
from ingest.sources.ssrf import Refused, host_of

_HTML = ("text/html", "application/xhtml+xml")
_PDF = ("application/pdf",)


@dataclass(slots=True)
class CrawlResult:
    """The pages folder, each file's public URL, and what failed."""

    folder: Path
    urls: dict[str, str] = field(default_factory=dict)  # file path (relative to folder) -> URL
    errors: list[str] = field(default_factory=list)
    failed: int = 0
    truncated: bool = False
    fetched: int = 0  # requests that downloaded a body
    not_modified: int = 0


def file_for(url: str, suffix: str) -> str:
    """A stable relative file path for ``url``: ``<host>/<path>[.<hash of query>]<suffix>``."""
    parts = urlsplit(url)
    path = parts.path if not parts.path.endswith("/") else parts.path + "index"
    path = re.sub(r"[^A-Za-z0-9._/-]", "_", path).strip("/") or "index"
    path = "/".join(seg.lstrip(".") or "_" for seg in path.split("/"))  # no hidden or parent segments
    path = re.sub(r"\.(html?|php|aspx?|md|mdx|pdf)$", "", path)
    if parts.query:
        path += "." + hashlib.sha256(parts.query.encode()).hexdigest()[:10]
    return f"{host_of(url)}/{path}{suffix}"


def _front_matter(title: str, url: str) -> str:
    # JSON strings are valid YAML scalars: no quoting problems with a title like "a: b".
    return f"---\ntitle: {json.dumps(title)}\nurl: {json.dumps(url)}\n---\n\n"


class _Crawl:
    def __init__(self, source: SourceSettings, home: Path, full: bool) -> None:
        self.source = source
        self.folder = home / "pages"
        self.manifest_path = home / "manifest.json"
        self.full = full
        start_host = host_of(source.location) if source.location.startswith("http") else ""
        hosts = {h.lower() for h in source.hosts} or {start_host}
        if source.sitemap and not source.hosts:
            hosts.add(host_of(source.sitemap))
        self.fetcher = Fetcher(source, frozenset(h for h in hosts if h))
        self.include = pathspec.GitIgnoreSpec.from_lines(source.include) if source.include else None
        self.exclude = pathspec.GitIgnoreSpec.from_lines(source.exclude) if source.exclude else None
        self.manifest: dict[str, dict[str, Any]] = self._load()
        self.result = CrawlResult(self.folder)
        self.reached: set[str] = set()
        self.keys: set[str] = set()  # canonical URLs and content hashes seen this crawl

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.manifest_path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def wanted(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in self.fetcher.hosts:
            return False
        path = parts.path.lstrip("/") or "index"
        if self.include is not None and not self.include.match_file(path):
            return False
        return self.exclude is None or not self.exclude.match_file(path)

    def fail(self, url: str, why: str) -> None:
        self.result.failed += 1
        self.result.errors.append(f"{url}: {why}")

    def seeds(self) -> tuple[list[str], bool]:
        """The URLs to start from, and whether to follow links (not with a sitemap)."""
        if not self.source.sitemap:
            return [self.source.location], True
        urls = self.sitemap(self.source.sitemap, depth=0)
        if urls is None:  # unreadable sitemap: re-check known pages, delete nothing
            self.result.truncated = True
            return list(self.manifest), False
        if self.source.location.startswith("http") and self.source.location not in urls:
            urls.append(self.source.location)
        return urls, False

    def sitemap(self, url: str, depth: int) -> list[str] | None:
        try:
            resp = self.fetcher.get(url, accept=("application/xml", "text/xml", "text/plain", "application/gzip"))
            if resp.status != 200 or resp.body is None:
                raise ValueError(f"HTTP {resp.status} {resp.content_type}")
            root = ET.fromstring(resp.body)  # noqa: S314 - expat refuses entity expansion bombs (3.11)
        except (httpx.HTTPError, Refused, TooLarge, ValueError, ET.ParseError) as exc:
            self.fail(url, f"sitemap not read: {exc}")
            return None
        locs = [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
        if root.tag.endswith("sitemapindex") and depth == 0:
            out: list[str] = []
            for child in locs:
                found = self.sitemap(child, 1)
                if found is None:
                    return None
                out.extend(found)
            return out
        return [u for u in locs if self.wanted(u)]

    def validators(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a page fetched before (none for --full)."""
        entry = self.manifest.get(url, {})
        headers = {}
        if not self.full and entry.get("etag"):
            headers["If-None-Match"] = entry["etag"]
        if not self.full and entry.get("last_modified"):
            headers["If-Modified-Since"] = entry["last_modified"]
        return headers

    def fetch(self, url: str) -> tuple[str, Response | None, str]:
        try:
            return url, self.fetcher.get(url, self.validators, accept=_HTML + _PDF), ""
        except Refused as exc:
            return url, None, f"refused: {exc}"
        except TooLarge as exc:
            return url, None, f"too large: {exc}"
        except httpx.HTTPError as exc:
            return url, None, f"{type(exc).__name__}: {exc}"

    def handle(self, asked: str, resp: Response | None, why: str) -> list[str]:
        """Record one fetch; the links to follow."""
        known = self.manifest.get(asked) or {}
        if resp is None:
            if why.startswith("refused: disallowed"):
                self.drop(asked)
                return []
            self.reached.add(asked)  # keep the last good copy
            self.fail(asked, why)
            return list(known.get("links", []))
        url = resp.url
        entry = self.manifest.get(url) or known
        self.reached.update({asked, url})
        if resp.status == 304:
            self.result.not_modified += 1
            self.keys.add(entry.get("canonical", url))
            return list(entry.get("links", []))
        if resp.status in (404, 410):
            self.drop(asked)
            self.drop(url)
            return []
        if resp.status != 200:
            self.fail(url, f"HTTP {resp.status}; last good copy kept")
            return list(entry.get("links", []))
        if resp.body is None:
            self.drop(url)  # not HTML or PDF (an image, a zip): skipped
            return []
        self.result.fetched += 1
        meta = {"etag": resp.etag, "last_modified": resp.last_modified}
        if resp.content_type in _PDF:
            self.store(url, url, file_for(url, ".pdf"), resp.body, meta, [])
            return []
        page = extract(resp.body.decode("utf-8", "replace"), url)
        canonical = page.canonical if page.canonical and self.wanted(page.canonical) else url
        digest = hashlib.sha256(page.markdown.encode()).hexdigest()
        if canonical in self.keys or digest in self.keys or not page.markdown.strip():
            self.drop(url)  # a duplicate (same canonical URL or text) or a page with no main content
            self.manifest[url] = {**meta, "canonical": canonical, "links": page.links}  # still validated
            return page.links
        self.keys.update({canonical, digest})
        text = _front_matter(page.title, canonical) + page.markdown
        self.store(url, canonical, file_for(canonical, ".md"), text.encode(), meta, page.links)
        return page.links

    def store(self, url: str, canonical: str, rel: str, body: bytes, meta: dict[str, Any], links: list[str]) -> None:
        old = self.manifest.get(url, {}).get("file")
        if old and old != rel:
            (self.folder / old).unlink(missing_ok=True)
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        self.manifest[url] = {**meta, "canonical": canonical, "file": rel, "links": links}

    def drop(self, url: str) -> None:
        entry = self.manifest.pop(url, None)
        if entry and entry.get("file"):
            (self.folder / entry["file"]).unlink(missing_ok=True)

    def run(self) -> CrawlResult:
        deadline = time.monotonic() + self.source.max_seconds
        seeds, follow = self.seeds()
        frontier = deque(u for u in dict.fromkeys(seeds) if self.wanted(u))
        queued = set(frontier)
        started = 0
        with ThreadPoolExecutor(self.source.concurrency, thread_name_prefix="docent-crawl") as pool:
            running: set[Future[tuple[str, Response | None, str]]] = set()
            while frontier or running:
                while frontier and len(running) < self.source.concurrency:
                    if started >= self.source.max_pages or time.monotonic() > deadline:
                        self.result.truncated = True
                        frontier.clear()
                        break
                    running.add(pool.submit(self.fetch, frontier.popleft()))
                    started += 1
                done, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    links = self.handle(*future.result())
                    for link in links if follow else []:
                        if link not in queued and self.wanted(link):
                            queued.add(link)
                            frontier.append(link)
        self.fetcher.close()
        self.result.errors.extend(self.fetcher.problems)
        if self.result.truncated:
            self.result.errors.append(f"crawl stopped at the page or time cap ({started} pages): nothing deleted")
        else:
            for url in [u for u in self.manifest if u not in self.reached]:
                self.drop(url)  # no longer linked, or left the sitemap
        write_atomic(self.manifest_path, json.dumps(self.manifest))
        self._sweep()
        self.result.urls = {e["file"]: e["canonical"] for e in self.manifest.values() if e.get("file")}
        return self.result

    def _sweep(self) -> None:
        """Delete files no manifest entry names (left by a crawl killed before its manifest)."""
        owned = {e["file"] for e in self.manifest.values() if e.get("file")}
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            return
        for path in self.folder.rglob("*"):
            if path.is_file() and path.relative_to(self.folder).as_posix() not in owned:
                path.unlink()


def crawl(source: SourceSettings, home: Path, *, full: bool = False) -> CrawlResult:
    """Crawl ``source`` into ``home/pages``; ``full`` re-downloads every page (no validators)."""
    return _Crawl(source, home, full).run()
