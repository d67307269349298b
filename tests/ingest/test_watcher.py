"""Watch mode re-ingests on file changes and records them in the change log."""

from __future__ import annotations

import time
from pathlib import Path

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.pipeline import Ingestor
from ingest.worker import Watcher
from tests.conftest import write


def test_watcher_reingests_after_edit_and_logs_change(settings: Settings, mini_corpus: Path, edge_store: EdgeStore,
                                                      embedder: Embedder) -> None:
    """Adding a page while watching lands it in the index and in changes.jsonl."""
    changes: list[dict[str, object]] = []
    ingestor = Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir, "/docs")
    watcher = Watcher(ingestor, mini_corpus, on_change=changes.append)
    watcher.ingest_now()
    thread = watcher.start_thread()  # the server's own path: first ingest (a no-op here), then watch
    try:
        # watchfiles gives no "subscribed" signal, so rewrite the page until a run sees it
        # (an early write may land before the subscription); bounded by the deadline.
        deadline = time.monotonic() + 60
        revision = 0
        while time.monotonic() < deadline and not any("guide/new-page.md" in c.get("added", []) for c in changes):
            revision += 1
            write(mini_corpus, "guide/new-page.md", f"# New page\nThe relay retries uploads five times ({revision}).\n")
            for _ in range(50):  # 10 s: long enough that a seen write is never followed by another
                if any("guide/new-page.md" in c.get("added", []) for c in changes):
                    break
                time.sleep(0.2)
    finally:
        watcher.stop()
        thread.join(timeout=10)
    assert any("guide/new-page.md" in c["added"] for c in changes)  # type: ignore[operator]
    index = edge_store.open_active()
    assert index is not None and "guide/new-page.md" in index.inventory()
    logged = ingestor.changelog.entries()
    assert logged[-1]["added"] == ["guide/new-page.md"]
