"""Wiring for ingest runs: build the store, embedder and encoder from settings; watch mode."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docent.embedder import Embedder, build_embedder
from docent.errors import ConfigError
from docent.index import IndexStore, open_store
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.documents import Skipped, read_all
from ingest.pipeline import Ingestor, IngestSummary
from ingest.visibility import VisibilityPolicy

log = logging.getLogger(__name__)


def build_ingestor(settings: Settings, store: IndexStore, embedder: Embedder) -> Ingestor:
    ingestor = Ingestor(store, embedder, Bm25Encoder(), settings.data_dir, settings.docs_base_url,
                        settings.chunk_max_words, VisibilityPolicy.from_settings(settings.visibility))
    # The docs folder's runs leave the named sources' pages alone (they share the index).
    ingestor.foreign = tuple(f"{source.name}/" for source in settings.sources)
    return ingestor


def run(settings: Settings, docs_dir: Path | None = None, *, rebuild: bool = False,
        progress: bool = True) -> IngestSummary:
    """One ingest in this process: lock the store, ingest, release. The CLI calls this."""
    store = open_store(settings, role="ingest")
    try:
        ingestor = build_ingestor(settings, store, build_embedder(settings))
        return ingestor.run(docs_dir or settings.docs_dir, rebuild=rebuild, progress=progress)
    finally:
        store.close()


@dataclass(frozen=True, slots=True)
class VisibilityRow:
    """One line of ``docent ingest --check-visibility``."""

    path: str
    visibility: str  # public | internal | skipped
    groups: tuple[str, ...]
    rule: str
    ok: bool  # False: failed closed, or nothing decided and the source has no default


def check_visibility(settings: Settings, docs_dir: Path | None = None) -> list[VisibilityRow]:
    """Every doc's access and the rule that decided it; reads files only, never the index."""
    docs = docs_dir or settings.docs_dir
    if not docs.is_dir():
        raise ConfigError(f"Docs folder {docs} does not exist or is not a folder (set DOCENT_DOCS_DIR or pass PATH).")
    rows = []
    for item in read_all(docs, settings.docs_base_url, VisibilityPolicy.from_settings(settings.visibility)):
        if isinstance(item, Skipped):
            rows.append(VisibilityRow(item.path, "skipped", (), item.reason, True))
        else:
            rows.append(VisibilityRow(item.path, item.visibility, item.groups, item.visibility_rule,
                                      not item.visibility_doubt))
    return sorted(rows, key=lambda r: r.path)


class Watcher:
    """Re-ingests when files under the docs folder change, until stopped.

    Used by ``docent ingest --watch`` and hosted inside the server in embedded mode
    (the store is single-process, so the server is the only writer there).
    """

    def __init__(self, ingestor: Ingestor, docs_dir: Path,
                 on_summary: Callable[[IngestSummary], None] | None = None,
                 on_change: Callable[[dict[str, Any]], object] | None = None) -> None:
        self.ingestor = ingestor
        self.docs_dir = docs_dir
        self.on_summary = on_summary
        self.on_change = on_change
        self.stop_event = threading.Event()
        # One ingest at a time, whether triggered by the watcher or an API call.
        self.run_lock = threading.Lock()

    def ingest_now(self, *, rebuild: bool = False) -> IngestSummary:
        with self.run_lock:
            summary = self.ingestor.run(self.docs_dir, rebuild=rebuild, progress=False, on_change=self.on_change)
        if self.on_summary:
            self.on_summary(summary)
        return summary

    def loop(self) -> None:
        """Block, re-ingesting after each debounced batch of file changes."""
        from watchfiles import watch

        for _changes in watch(self.docs_dir, stop_event=self.stop_event, debounce=400, rust_timeout=1000):
            try:
                summary = self.ingest_now()
                log.info("re-ingested: %s", summary.changes)
            except Exception:  # a bad edit must not kill the watcher
                log.exception("ingest after a docs change failed; will retry on the next change")

    def start_thread(self, *, ingest_first: bool = True) -> threading.Thread:
        """Run ``loop`` on a daemon thread, after one ingest: how the server hosts the worker.

        A failing first ingest is logged, not raised: the API keeps serving the previous index.
        """
        def run() -> None:
            if ingest_first:
                try:
                    self.ingest_now()
                except Exception:
                    log.exception("initial ingest failed; watching for the next change")
            self.loop()

        thread = threading.Thread(target=run, name="docent-watch", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
