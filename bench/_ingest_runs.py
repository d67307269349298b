"""Docent's own ingest, timed: full ingests into a fresh embedded store, and re-ingests.

Model loading is never inside a timing: the embedder is built once and handed to an
``Ingestor`` the way the server's watch mode reuses it between runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench._corpus import Corpus, edit_one_paragraph, largest_page, snapshot
from bench._report import median, stopwatch
from docent.embedder import Embedder
from docent.index import open_store
from docent.settings import Settings
from ingest.documents import discover
from ingest.pipeline import IngestSummary
from ingest.worker import build_ingestor


@dataclass(frozen=True, slots=True)
class IngestRate:
    """One pipeline's full ingest of the corpus (median seconds over the repeats)."""

    label: str
    seconds: float
    cpu_seconds: float
    chunks: int
    docs: int
    words: int
    load_s: float | None = None
    note: str = ""

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds

    @property
    def words_per_s(self) -> float:
        return self.words / self.seconds


def _run_settings(settings: Settings, run_dir: Path) -> Settings:
    """The same settings, with the store and change log in their own folder."""
    return settings.model_copy(update={"data_dir": run_dir})


def docent_full_ingest(label: str, embedder: Embedder, settings: Settings, corpus: Corpus, run_dir: Path,
                       repeats: int, load_s: float | None = None) -> IngestRate:
    """Full ingests of ``corpus`` with ``--rebuild`` (each one embeds every chunk anew)."""
    run_settings = _run_settings(settings, run_dir)
    store = open_store(run_settings, role="bench")
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    summary = IngestSummary()
    try:
        ingestor = build_ingestor(run_settings, store, embedder)
        for _ in range(repeats):
            with stopwatch() as sw:
                summary = ingestor.run(corpus.root, rebuild=True, progress=False)
            seconds.append(sw.seconds)
            cpu_seconds.append(sw.cpu_seconds)
    finally:
        store.close()
    return IngestRate(label, median(seconds), median(cpu_seconds), summary.chunks_added, summary.docs_added,
                      corpus.words, load_s)


@dataclass(frozen=True, slots=True)
class Reingest:
    """Seconds for a full ingest, a no-change re-ingest and a one-paragraph-edit re-ingest."""

    page: str
    full_s: float
    noop_s: float
    edit_s: float
    edit_chunks_embedded: int
    edit_chunks_deleted: int

    @property
    def edit_fraction(self) -> float:
        return self.edit_s / self.full_s


def reingest_after_edit(embedder: Embedder, settings: Settings, corpus: Corpus, work_dir: Path,
                        repeats: int) -> Reingest:
    """Full ingest of a private copy, then re-ingests after editing one paragraph of one page."""
    docs_dir = snapshot(corpus.root, work_dir / "docs")
    page = largest_page(discover(docs_dir))
    run_settings = _run_settings(settings, work_dir / "data")
    store = open_store(run_settings, role="bench")
    try:
        ingestor = build_ingestor(run_settings, store, embedder)
        with stopwatch() as full:
            ingestor.run(docs_dir, progress=False)
        noop: list[float] = []
        edit: list[float] = []
        last = IngestSummary()
        for revision in range(1, repeats + 1):
            with stopwatch() as sw:
                ingestor.run(docs_dir, progress=False)
            noop.append(sw.seconds)
            edit_one_paragraph(page, revision)
            with stopwatch() as sw:
                last = ingestor.run(docs_dir, progress=False)
            edit.append(sw.seconds)
    finally:
        store.close()
    return Reingest(page.relative_to(docs_dir).as_posix(), full.seconds, median(noop), median(edit),
                    last.chunks_added, last.chunks_deleted)
