"""Who syncs the named sources, and the eval trigger after a sync.

Embedded store: the server (``docent serve``'s Runtime) runs each source on its schedule and
watches folder sources. With QDRANT_URL the server leaves them alone and the worker
(``docent ingest --watch``) does it. The worker's eval trigger fires after a sync that
changed docs, never after an unchanged one.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient

from docent.embedder import Embedder
from docent.index.base import IndexStore
from docent.index.edge import EdgeStore
from docent.index.server import ServerStore
from docent.settings import IndexSettings, LLMSettings, Settings, SourceSettings
from entrypoints import cli
from eval.run_store import RunStore
from eval.trigger import take_pending
from ingest.sources.schedule import Scheduler
from ingest.sources.sync import load_state
from service.runtime import Runtime
from tests.conftest import wait_for, write
from tests.eval.conftest import make_record
from tests.ingest.test_sources_website import (  # noqa: F401 - the fixtures
    Site,
    _listed_site,
    no_outside_network,
    site,
)

# Typed loosely: the CLI keeps its lazily-importing helpers unannotated.
_eval_trigger: Any = cli._eval_trigger
_watch: Any = cli._watch


def _settings(tmp_path: Path, sources: list[SourceSettings], qdrant_url: str | None = None) -> Settings:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                        llm=LLMSettings(model="docent-fake/echo-cite", retries=0), sources=sources,
                        index=IndexSettings(url=qdrant_url))
    settings.cache.enabled = False
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings



def _paths(store: IndexStore) -> set[str]:
    index = store.open_active()
    return set(index.inventory()) if index is not None else set()


def _website(server: Site, **extra: Any) -> SourceSettings:
    values: dict[str, Any] = {"name": "site", "kind": "website", "location": server.base + "/",
                              "sitemap": f"{server.base}/sitemap.xml", "allow_private": True, "timeout_s": 2.0,
                              **extra}
    return SourceSettings(**values)


def test_sources_eval_trigger_fires_on_changed_sync_only(tmp_path: Path, edge_store: EdgeStore,
                                                        embedder: Embedder, site: Site,  # noqa: F811
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        no_outside_network: list[Any]) -> None:  # noqa: F811
    """The worker's eval trigger gets a sync's changed pages; an unchanged re-sync triggers nothing."""
    runs = tmp_path / "evals"
    monkeypatch.setenv("DOCENT_EVAL_TRIGGER", "affected")
    monkeypatch.setenv("DOCENT_EVAL_RUNS_DIR", str(runs))
    paths = _listed_site(site, 3)
    settings = _settings(tmp_path, [_website(site)])
    store = RunStore(runs)
    store.save(make_record("20250101T000000Z-000", {"q001": {}}))  # a first run to compare with
    hook = _eval_trigger(settings, edge_store, embedder)
    started: list[threading.Thread | None] = []
    scheduler = Scheduler(settings, edge_store, embedder, on_change=lambda entry: started.append(hook(entry)))
    with store.exclusive() as held:  # an evaluation "in flight": the trigger only records what is pending
        assert held
        scheduler.sync("site")
        assert len(started) == 1 and started[0] is not None
        started[0].join(timeout=30)
        pending = take_pending(store)
        assert pending is not None and len(pending["added"]) == 3

        state, _ = scheduler.sync("site")
        assert state.unchanged == 3 and state.added == state.changed == 0
        assert len(started) == 1 and take_pending(store) is None  # unchanged: no trigger, nothing pending

        site.page(paths[1], "Page 1", "<h1 id='p1'>Page 1</h1><p>Invoices are now emailed on the first "
                  "business day of the month, in the workspace's own currency.</p>")
        scheduler.sync("site")
        assert len(started) == 2 and started[1] is not None
        started[1].join(timeout=30)
        pending = take_pending(store)
        assert pending is not None and pending["changed"] == ["site/127.0.0.1/guide/p1.md"]
        assert pending["added"] == pending["removed"] == []
    assert no_outside_network == []


def test_embedded_server_owns_the_source_sync(tmp_path: Path, edge_store: EdgeStore, embedder: Embedder) -> None:
    """Embedded store: the runtime hosts the scheduler and syncs a folder source at start; with
    QDRANT_URL it hosts nothing and syncs nothing (the worker does)."""
    folder = tmp_path / "handbook"
    write(folder, "refunds.md", "# Refunds\n\nRefunds take five business days.\n")
    source = SourceSettings(name="hb", location=str(folder), schedule_s=0)
    remote = _settings(tmp_path / "remote", [source], qdrant_url="http://127.0.0.1:9")
    runtime = Runtime.build(remote, store=edge_store, embedder=embedder)  # start_watcher left to the settings
    try:
        assert runtime.watcher is None
        time.sleep(1.0)
        assert load_state(remote, source).last_sync is None and _paths(edge_store) == set()
    finally:
        runtime.close()

    embedded = _settings(tmp_path / "embedded", [source])
    runtime = Runtime.build(embedded, store=edge_store, embedder=embedder)
    try:
        assert isinstance(runtime.watcher, Scheduler)
        wait_for(lambda: _paths(edge_store) == {"hb/refunds.md"})
        write(folder, "limits.md", "# Limits\n\nThe API allows 600 requests a minute.\n")
        wait_for(lambda: _paths(edge_store) == {"hb/refunds.md", "hb/limits.md"})  # the folder is watched
    finally:
        runtime.close()


def test_worker_owns_the_source_sync_with_qdrant_url(tmp_path: Path, embedder: Embedder, site: Site,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`docent ingest --watch` with QDRANT_URL syncs a website on its schedule and a folder on change."""
    monkeypatch.setenv("DOCENT_EVAL_TRIGGER", "off")
    _listed_site(site, 2)
    folder = tmp_path / "handbook"
    write(folder, "refunds.md", "# Refunds\n\nRefunds take five business days.\n")
    settings = _settings(tmp_path, [_website(site, schedule_s=1),
                                    SourceSettings(name="hb", location=str(folder), schedule_s=0)],
                         qdrant_url="http://127.0.0.1:9")
    # The Qdrant server the URL names: qdrant-client's in-process mode behind Docent's ServerStore.
    store = ServerStore(QdrantClient(location=":memory:"), settings.resolved_index())
    monkeypatch.setattr("docent.index.open_store", lambda *_a, **_k: store)
    monkeypatch.setattr("docent.embedder.build_embedder", lambda _s: embedder)
    schedulers: list[Scheduler] = []
    real_loop = Scheduler.loop

    def loop(self: Scheduler) -> None:
        schedulers.append(self)
        real_loop(self)

    monkeypatch.setattr(Scheduler, "loop", loop)
    worker = threading.Thread(target=_watch, args=(settings, settings.docs_dir, False), daemon=True)
    worker.start()
    try:
        wait_for(lambda: {"hb/refunds.md", "site/127.0.0.1/guide/p0.md"} <= _paths(store))
        wait_for(lambda: len(site.requests("/sitemap.xml")) >= 3)  # re-synced every second
        write(folder, "limits.md", "# Limits\n\nThe API allows 600 requests a minute.\n")
        wait_for(lambda: "hb/limits.md" in _paths(store))
    finally:
        wait_for(lambda: schedulers)
        schedulers[0].stop()
        worker.join(timeout=30)
    assert not worker.is_alive()
