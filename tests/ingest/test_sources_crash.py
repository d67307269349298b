"""kill -9 in the middle of a website sync, then a rerun: the index equals a clean sync's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings, SourceSettings
from ingest.sources.sync import sync_source
from tests.ingest.test_crash_convergence import _snapshot
from tests.ingest.test_sources_website import Site, corpus_pages, site  # noqa: F401 - the fixture

pytestmark = pytest.mark.timeout(600)


def _source(server: Site) -> dict[str, object]:
    return {"name": "site", "kind": "website", "location": f"{server.base}/", "sitemap": f"{server.base}/sitemap.xml",
            "allow_private": True, "concurrency": 1}


def test_website_sync_killed_mid_crawl_converges(settings: Settings, site: Site, embedder: Embedder,  # noqa: F811
                                                 models_cache: Path, tmp_path: Path) -> None:
    """A sync killed while pages are being fetched, then rerun, leaves exactly a clean sync's index."""
    pages = corpus_pages(30)
    for path, title, html in pages:
        site.page(path, title, html)
        site.routes[path].delay = 0.1  # slow enough to kill mid-crawl
    site.sitemap([p for p, _, _ in pages])
    data = tmp_path / "crashed"
    data.mkdir()
    (data / "models").symlink_to(models_cache, target_is_directory=True)
    env = {**os.environ, "DOCENT_DATA_DIR": str(data), "DOCENT_SOURCES": json.dumps([_source(site)])}
    env.pop("QDRANT_URL", None)
    cmd = [sys.executable, "-m", "entrypoints.cli", "sources", "sync", "site", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    folder = data / "sources/site/pages"
    deadline = time.monotonic() + 120
    while len(list(folder.rglob("*.md"))) < 8:
        assert proc.poll() is None and time.monotonic() < deadline, "sync ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    del site.routes[pages[0][0]]  # and the site moves on meanwhile: one page is gone
    site.sitemap([p for p, _, _ in pages[1:]])
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout.strip().splitlines()[-1])["failed"] == 0

    clean = Settings(_env_file=None, data_dir=tmp_path / "clean")
    store = EdgeStore(clean.store_dir, role="test")
    try:
        sync_source(clean, SourceSettings(**_source(site)), store, embedder)
    finally:
        store.close()
    crashed, expected = _snapshot(data / "index"), _snapshot(clean.store_dir)
    assert len(expected) > 30 and crashed == expected


def test_git_resync_killed_mid_index_update_converges(settings: Settings, embedder: Embedder,
                                                      models_cache: Path, tmp_path: Path) -> None:
    """A diff-only git re-sync killed while it updates the index keeps the old commit in its state;
    the rerun re-diffs from it and leaves exactly a clean sync's index."""
    import shutil

    from tests.ingest.test_sources_git import commit, git

    upstream = tmp_path / "upstream"
    shutil.copytree(Path(__file__).resolve().parents[2] / "docs-corpus", upstream / "docs")
    git(upstream, "init", "-q", "-b", "main")
    old = commit(upstream, "docs")
    source = {"name": "handbook", "kind": "git", "location": f"file://{upstream}", "subfolder": "docs",
              "file_url": "https://git.example.com/h/blob/{commit}/{path}"}
    data = tmp_path / "crashed"
    data.mkdir()
    (data / "models").symlink_to(models_cache, target_is_directory=True)
    env = {**os.environ, "DOCENT_DATA_DIR": str(data), "DOCENT_SOURCES": json.dumps([source])}
    env.pop("QDRANT_URL", None)
    cmd = [sys.executable, "-m", "entrypoints.cli", "sources", "sync", "handbook", "--json"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr[-2000:]

    pages = sorted((upstream / "docs").rglob("*.md"))
    for n, page in enumerate(pages[1:]):  # a commit touching every page: seconds of embedding
        page.write_text(page.read_text() + f"\n\nRevision note {n}: exports can be scheduled weekly.\n")
    pages[0].unlink()
    (upstream / "docs/added.md").write_text("# Added\n\nWebhooks retry five times.\n")
    new = commit(upstream, "every page")
    journal = data / "ingest/journal.json"  # written once the plan is made, before the index is touched
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not journal.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "sync ended before it could be killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads((data / "sources/handbook/state.json").read_text())["version"] == old

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    state = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert state["version"] == new and state["deleted"] + state["added"] >= 1
    clean = Settings(_env_file=None, data_dir=tmp_path / "clean")
    store = EdgeStore(clean.store_dir, role="test")
    try:
        sync_source(clean, SourceSettings(**source), store, embedder)
    finally:
        store.close()
    crashed, expected = _snapshot(data / "index"), _snapshot(clean.store_dir)
    assert len(expected) > 60 and crashed == expected
