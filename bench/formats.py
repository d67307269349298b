"""Doc formats: what ingest makes of the foreign corpora in ../shared/corpora, read in place.

For each corpus (Zulip Markdown, MkDocs Material, Sphinx reStructuredText, Docusaurus MDX,
PDF manuals) this parses and chunks every file the way ``docent ingest`` does (no
embedding) and prints: files, documents, chunks, chunks that still carry markup plumbing
(``ingest/plumbing.py``; the aim is 0) with examples, skipped files with their reasons,
warnings (dropped includes), and the parse+chunk time. With ``--embed`` it also times a whole
``docent ingest`` of each corpus (read, chunk, MiniLM embedding, BM25, writing a fresh embedded
index), the embedder loaded once beforehand. The corpora's own PROVENANCE.md,
LICENSE and NOTICE files are not docs and are left out. One JSON line with every figure
follows the table.

Usage: ``python bench/formats.py [--corpora DIR] [--only zulip-help,flask-docs] [--examples 5] [--embed]``
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
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from docent.embedder import Embedder
from ingest.documents import Document, Skipped, fragments, read_document, scan
from ingest.pipeline import chunk_document
from ingest.plumbing import plumbing

# Each corpus's docs root: the folder its pages (and the files they include) live under.
ROOTS = {"zulip-help": "help", "fastapi-docs": ".", "flask-docs": ".", "docusaurus-docs": ".", "pdf-manuals": "."}
_NOT_DOCS = ("PROVENANCE.md", "LICENSE", "LICENSE.txt", "LICENSE-docs", "NOTICE", "README.md")


@dataclass(slots=True)
class CorpusFigures:
    """What ingest made of one corpus."""

    corpus: str
    root: str
    files: int = 0
    docs: int = 0
    fragments: int = 0  # files other pages include: indexed inside them, not on their own
    chunks: int = 0
    plumbing_chunks: int = 0
    plumbing_kinds: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: int = 0
    warning_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ingest_seconds: float | None = None  # the whole ingest, embedding included (--embed)


def measure(name: str, root: Path, examples: int = 5) -> CorpusFigures:
    """Parse and chunk every doc below ``root``; count chunks with plumbing."""
    figures = CorpusFigures(name, str(root))
    files, refused = scan(root)
    files = [f for f in files if f.name not in _NOT_DOCS]
    figures.files = len(files)
    figures.skipped = [f"{s.path}: {s.reason}" for s in refused]
    kinds: Counter[str] = Counter()
    started = time.perf_counter()
    items = [read_document(path, root, "https://docs.example.com") for path in files]
    # What ingest indexes: fragments (files another page includes) only inside their pages.
    hidden = fragments(item for item in items if isinstance(item, Document))
    figures.fragments = sum(1 for item in items if item.path in hidden)
    for item in items:
        if isinstance(item, Skipped):
            figures.skipped.append(f"{item.path}: {item.reason}")
            continue
        if item.path in hidden:
            continue
        figures.docs += 1
        parse_warnings = [w for w in item.warnings if "include" in w or "partial" in w]
        figures.warnings += len(parse_warnings)
        figures.warning_examples.extend(f"{item.path}: {w}" for w in parse_warnings[:1])
        for chunk in chunk_document(item).values():
            figures.chunks += 1
            found = plumbing(chunk.text) + plumbing(" / ".join(chunk.heading_path))
            if found:
                figures.plumbing_chunks += 1
                kinds.update(f.split(":", 1)[0] for f in found)
                if len(figures.examples) < examples:
                    figures.examples.append(f"{item.path}#{chunk.anchor}: {found[0]}")
    figures.seconds = round(time.perf_counter() - started, 2)
    figures.plumbing_kinds = dict(kinds.most_common())
    figures.warning_examples = figures.warning_examples[:examples]
    return figures


DEFAULT_CORPORA = _ROOT.parent / "shared" / "corpora"


def time_ingest(figures: CorpusFigures, embedder: Embedder) -> None:
    """Time a real ingest of the corpus (the Ingestor ``docent ingest`` runs) into a fresh embedded index."""
    from docent.index import open_store
    from docent.settings import Settings
    from docent.sparse import Bm25Encoder
    from ingest.pipeline import Ingestor

    with tempfile.TemporaryDirectory(prefix="docent-bench-") as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp), docs_dir=Path(figures.root), watch=False)
        store = open_store(settings, role="bench")
        try:
            ingestor = Ingestor(store, embedder, Bm25Encoder(), Path(tmp), "https://docs.example.com")
            started = time.perf_counter()
            ingestor.run(Path(figures.root), progress=False)
            figures.ingest_seconds = round(time.perf_counter() - started, 2)
        finally:
            store.close()


def measure_corpora(corpora: Path, only: list[str] | None = None, examples: int = 5,
                    embed: bool = False) -> list[CorpusFigures]:
    """``measure`` each corpus under ``corpora`` (``only`` those named; default: every known one there);
    with ``embed``, also time a whole ingest of each."""
    if not corpora.is_dir():
        raise SystemExit(f"no corpora folder at {corpora}")
    wanted = [n for n in only or [] if n] or [n for n in ROOTS if (corpora / n).is_dir()]
    results = [measure(n, corpora / n / ROOTS.get(n, "."), examples) for n in wanted]
    if embed:
        from docent.embedder import build_embedder
        from docent.settings import Settings

        embedder = build_embedder(Settings(_env_file=None))  # loaded once, outside the timings
        embedder.embed_documents(["warm-up"])
        for figures in results:
            time_ingest(figures, embedder)
    return results


def _embedded(results: list[CorpusFigures]) -> bool:
    return any(r.ingest_seconds is not None for r in results)


def print_report(results: list[CorpusFigures]) -> None:
    """The per-corpus table, then plumbing kinds, examples, skips and warnings, then one JSON line."""
    print(f"{'corpus':<16} {'files':>6} {'docs':>5} {'fragments':>9} {'chunks':>7} {'plumbing':>9} {'skipped':>8} "
          f"{'warnings':>9} {'parse+chunk s':>13}" + (f" {'ingest s':>9}" if _embedded(results) else ""))
    for r in results:
        print(f"{r.corpus:<16} {r.files:>6} {r.docs:>5} {r.fragments:>9} {r.chunks:>7} {r.plumbing_chunks:>9} "
              f"{len(r.skipped):>8} {r.warnings:>9} {r.seconds:>13.2f}"
              + (f" {r.ingest_seconds or 0:>9.2f}" if _embedded(results) else ""))
    for r in results:
        for line in ([f"plumbing kinds: {r.plumbing_kinds}"] if r.plumbing_kinds else []) + r.examples:
            print(f"  {r.corpus}: {line}")
        for line in r.skipped:
            print(f"  {r.corpus} skipped: {line}")
        for line in r.warning_examples:
            print(f"  {r.corpus} warning: {line}")
    print(json.dumps([asdict(r) for r in results]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--only", default="", help="comma-separated corpus names (default: all)")
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--embed", action="store_true", help="also time a whole ingest (embedding included)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # pypdf and docutils chatter; the figures say what matters
    print_report(measure_corpora(args.corpora, args.only.split(","), args.examples, args.embed))


if __name__ == "__main__":
    main()
