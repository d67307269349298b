"""Docs sources: a website crawled over loopback and a Git repository, synced and re-synced.

A threaded http.server on 127.0.0.1 serves the docs folder's Markdown pages rendered to HTML
(with a sitemap.xml and robots.txt); a Git repository in a temp folder holds the same pages.
Figures, with the real MiniLM embedder and the embedded index:

- full crawl: pages/s of the whole first sync (fetch + extract + embed), and of the crawl alone;
- re-sync of the unchanged site: seconds, as a share of the full sync (aim <= 5%), chunks embedded (aim 0);
- re-sync after one page changes: seconds, pages changed, chunks embedded;
- git: first sync, re-sync after one commit that edits one page, re-sync with no new commit.

Usage: ``python bench/sources.py [--docs docs-corpus] [--delay-ms 0]``
"""
# ruff: noqa: E402 - the path fix must run before the imports below

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _ROOT / "bench":
    sys.path[0] = str(_ROOT)

import argparse
import json
import logging
import shutil
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from markdown_it import MarkdownIt

from docent.embedder import build_embedder
from docent.index.edge import EdgeStore
from docent.offline import ensure_offline
from docent.settings import Settings, SourceSettings
from ingest.sources.sync import sync_source
from ingest.sources.website import crawl
from tests.ingest.test_pipeline_incremental import CountingEmbedder
from tests.ingest.test_sources_git import commit, git
from tests.ingest.test_sources_website import Route, Site, _handler


def _pages(docs: Path) -> list[tuple[str, str]]:
    md = MarkdownIt("commonmark").enable("table")
    out = []
    for file in sorted(docs.rglob("*.md")):
        text = file.read_text()
        if text.startswith("---"):
            text = text.split("---", 2)[2]
        out.append(("/" + file.relative_to(docs).with_suffix(".html").as_posix(), md.render(text)))
    return out


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def website(settings: Settings, store: EdgeStore, embedder: CountingEmbedder, docs: Path, delay: float,
            work: Path) -> dict[str, Any]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pages = _pages(docs)
        for path, html in pages:
            site.page(path, path.rsplit("/", 1)[-1], html)
            site.routes[path].delay = delay
        site.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        site.sitemap([p for p, _ in pages])
        source = SourceSettings(name="site", kind="website", location=f"{site.base}/", allow_private=True,
                                sitemap=f"{site.base}/sitemap.xml", concurrency=4)
        crawl_s, result = _timed(lambda: crawl(source, work / "crawl-only"))
        full_s, (first, full_summary) = _timed(lambda: sync_source(settings, source, store, embedder))
        embedded_full = len(embedder.embedded)
        embedder.embedded.clear()
        same_s, (same, _) = _timed(lambda: sync_source(settings, source, store, embedder))
        embedded_same = len(embedder.embedded)
        path, html = pages[len(pages) // 2]
        site.page(path, "changed", html + "<p>New: exports can be scheduled weekly from the admin page.</p>")
        embedder.embedded.clear()
        one_s, (one, _) = _timed(lambda: sync_source(settings, source, store, embedder))
        return {"pages": len(pages), "docs_indexed": first.added, "chunks": full_summary.chunks_added,
                "crawl_only_s": round(crawl_s, 2), "crawl_only_pages_per_s": round(len(pages) / crawl_s, 1),
                "crawl_fetched": result.fetched, "full_sync_s": round(full_s, 2),
                "full_sync_pages_per_s": round(len(pages) / full_s, 1), "chunks_embedded_full": embedded_full,
                "unchanged_resync_s": round(same_s, 3), "unchanged_share": round(same_s / full_s, 4),
                "unchanged_docs": same.unchanged, "chunks_embedded_unchanged": embedded_same,
                "one_change_resync_s": round(one_s, 3), "one_change_docs_changed": one.changed,
                "chunks_embedded_one_change": len(embedder.embedded), "failed": first.failed + same.failed}
    finally:
        server.shutdown()
        server.server_close()


def git_source(settings: Settings, store: EdgeStore, embedder: CountingEmbedder, docs: Path,
               work: Path) -> dict[str, Any]:
    repo = work / "upstream"
    shutil.copytree(docs, repo / "docs")
    git(repo, "init", "-q", "-b", "main")
    commit(repo, "docs")
    source = SourceSettings(name="repo", kind="git", location=f"file://{repo}", subfolder="docs")
    embedder.embedded.clear()
    full_s, (first, _) = _timed(lambda: sync_source(settings, source, store, embedder))
    page = sorted((repo / "docs").rglob("*.md"))[3]
    page.write_text(page.read_text() + "\n\nNew: exports can be scheduled weekly from the admin page.\n")
    commit(repo, "one page")
    embedder.embedded.clear()
    one_s, (one, _) = _timed(lambda: sync_source(settings, source, store, embedder))
    embedded_one = len(embedder.embedded)
    same_s, _ = _timed(lambda: sync_source(settings, source, store, embedder))
    return {"docs": first.added, "full_sync_s": round(full_s, 2), "one_commit_resync_s": round(one_s, 3),
            "one_commit_docs_changed": one.changed, "chunks_embedded_one_commit": embedded_one,
            "no_commit_resync_s": round(same_s, 3)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=Path, default=_ROOT / "docs-corpus", help="folder of .md pages to serve")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="server delay per page (a remote site)")
    parser.add_argument("--only", choices=("website", "git"), help="run one of the two figures")
    args = parser.parse_args(argv)
    ensure_offline()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = Settings(_env_file=None, data_dir=work / "data")
        models = _ROOT / "data" / "models"
        if models.is_dir():  # reuse the ONNX export
            settings.data_dir.mkdir(parents=True)
            settings.models_dir.symlink_to(models.resolve(), target_is_directory=True)
        embedder = CountingEmbedder(build_embedder(settings))
        store = EdgeStore(settings.store_dir, role="bench")
        try:
            web = website(settings, store, embedder, args.docs, args.delay_ms / 1000, work) \
                if args.only != "git" else None
            repo = git_source(settings, store, embedder, args.docs, work) if args.only != "website" else None
        finally:
            store.close()
    if web is not None:
        _print_website(web)
    if repo is not None:
        _print_git(repo)
    print(json.dumps({"website": web, "git": repo}))


def _print_website(web: dict[str, Any]) -> None:
    print(f"website ({web['pages']} pages over loopback, {web['chunks']} chunks):")
    print(f"  crawl only           {web['crawl_only_s']:>7.2f} s  {web['crawl_only_pages_per_s']:>6.1f} pages/s")
    print(f"  full sync (+embed)   {web['full_sync_s']:>7.2f} s  {web['full_sync_pages_per_s']:>6.1f} pages/s")
    print(f"  unchanged re-sync    {web['unchanged_resync_s']:>7.3f} s  {web['unchanged_share']:.1%} of full, "
          f"{web['chunks_embedded_unchanged']} chunks embedded")
    print(f"  one page changed     {web['one_change_resync_s']:>7.3f} s  {web['one_change_docs_changed']} doc changed, "
          f"{web['chunks_embedded_one_change']} chunks embedded")


def _print_git(repo: dict[str, Any]) -> None:
    print(f"git ({repo['docs']} docs):")
    print(f"  first sync           {repo['full_sync_s']:>7.2f} s")
    print(f"  one commit re-sync   {repo['one_commit_resync_s']:>7.3f} s  {repo['one_commit_docs_changed']} doc "
          f"changed, {repo['chunks_embedded_one_commit']} chunks embedded")
    print(f"  no new commit        {repo['no_commit_resync_s']:>7.3f} s  (fetch + empty diff: nothing re-read)")


if __name__ == "__main__":
    main()
