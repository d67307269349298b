"""Ingest throughput, re-ingest cost and search latency of Docent, against simple baselines.

What is measured, and why:

1. **Full ingest** of the docs corpus into a fresh embedded (qdrant-edge) store, through
   Docent's own ``Ingestor``, for each embedder backend (torch, ONNX fp32, int8 ONNX
   with AVX2 kernels), against a naive LlamaIndex pipeline (``SentenceSplitter`` +
   the same MiniLM through sentence-transformers/torch + a qdrant-edge shard). The two
   split differently, so chunks/s alone would mislead: docs/s and words/s over the
   same files are reported too, and the headline ratio is words/s. Each backend's
   vectors are compared with fp32 torch (cosine, and top-10 overlap of dense retrieval
   over the corpus on ~30 queries), because speed that changes answers is no gain.
2. **Re-ingest after editing one paragraph of one page**, reusing the loaded embedder
   like watch mode does: an edit should cost a small fraction of a full ingest.
3. **Search latency** p50/p95 as a request sees it (MiniLM query embedding + BM25 query
   + hybrid search with the public-visibility filter, and a staff/group filter) at
   10k and 100k synthetic chunks, for the embedded store and for qdrant-client's local
   mode behind the same ``ServerStore`` adapter; plus the cost of reopening each store.
   Synthetic chunks are perturbed copies of real ones (see ``bench/_synthetic.py``).
4. With ``--corpora``, instead: for each foreign corpus in ``../shared/corpora`` (read in
   place), its chunks, the chunks that still carry markup plumbing (``ingest/plumbing.py``;
   aim: 0) and its parse + chunk time, through ``bench/formats.py``'s measure; ``--embed``
   adds the time of a whole ingest of each (embedding included) into a fresh embedded index.

Model loading is excluded from every timing (reported separately); all timings follow
warm-up calls; throughputs are medians over ``--repeats`` and latencies percentiles.
The tables go to stdout, followed by one JSON line with every figure.

Usage: ``python bench/ingest.py [--synthetic 2000 --queries 20]``, or
``python bench/ingest.py --corpora [DIR] [--only zulip-help,flask-docs] [--embed]`` (see ``--help``).
"""
# ruff: noqa: E402 - the path fix and ensure_offline() must run before the imports below

from __future__ import annotations

import sys
from pathlib import Path

# Run as ``python bench/ingest.py``, this file's folder heads sys.path and this module
# would shadow the ``ingest`` package; the repository root takes its place.
_ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == _ROOT / "bench":
    sys.path[0] = str(_ROOT)

from docent.offline import ensure_offline

ensure_offline()

import argparse
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench._corpus import load_corpus, queries_from_headings, snapshot
from bench._embedders import BACKENDS, default_backend
from bench._report import stopwatch
from bench._search_section import search_section
from bench._sections import Bench, ingest_section, reingest_section
from bench.formats import DEFAULT_CORPORA, measure_corpora, print_report
from docent.settings import Settings


def _csv_ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/ingest.py", description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=_ROOT / "docs-corpus", help="docs folder to ingest")
    parser.add_argument("--sections", type=_csv, default="ingest,reingest,search",
                        help="which parts to run (comma-separated)")
    parser.add_argument("--backends", type=_csv, default="torch,onnx,onnx-int8-avx2",
                        help=f"embedder backends for the full ingest ({', '.join(BACKENDS)})")
    parser.add_argument("--repeats", type=int, default=1, help="full ingests per pipeline (median)")
    parser.add_argument("--skip-naive", action="store_true", help="skip the LlamaIndex baseline")
    parser.add_argument("--naive-chunk-tokens", type=_csv_ints, default="1024,256",
                        help="SentenceSplitter chunk sizes for the baseline (1024 is LlamaIndex's default)")
    parser.add_argument("--agreement-queries", type=int, default=30, help="queries for the top-10 overlap")
    parser.add_argument("--edits", type=int, default=3, help="one-paragraph edits to re-ingest (median)")
    parser.add_argument("--synthetic", type=_csv_ints, default="10000,100000",
                        help="synthetic index sizes for the latency runs")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per latency configuration")
    parser.add_argument("--noise", type=float, default=0.02,
                        help="per-dimension sd of the noise added to synthetic vectors")
    parser.add_argument("--skip-local", action="store_true", help="skip qdrant-client local mode")
    parser.add_argument("--local-max-points", type=int, default=100_000,
                        help="largest synthetic size to run in qdrant-client local mode")
    parser.add_argument("--local-path-max", type=int, default=10_000,
                        help="largest size built on disk (QdrantClient(path=...)); larger ones in memory")
    parser.add_argument("--local-budget-s", type=float, default=30.0,
                        help="time budget per local-mode latency configuration (at least 3 queries run)")
    parser.add_argument("--no-optimize", action="store_true",
                        help="skip the extra run on an optimized (HNSW-indexed) edge shard")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="holds the run (removed after) and ONNX exports (kept, reused); default: a temp dir")
    parser.add_argument("--verbose", action="store_true", help="show library logging")
    parser.add_argument("--corpora", type=Path, nargs="?", const=DEFAULT_CORPORA, default=None,
                        help="instead of the sections: per foreign corpus under this folder (default when "
                             f"given bare: {DEFAULT_CORPORA}), chunks, chunks with markup plumbing and "
                             "parse + chunk time (bench/formats.py)")
    parser.add_argument("--only", type=_csv, default=None,
                        help="with --corpora: comma-separated corpus names (None: every corpus there)")
    parser.add_argument("--embed", action="store_true",
                        help="with --corpora: also time a whole ingest of each corpus, embedding included")
    return parser.parse_args(argv)


@contextmanager
def workspace(data_dir: Path | None) -> Iterator[Path]:
    """A fresh run folder (under ``data_dir`` if given), removed afterwards: stores reach GBs."""
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="docent-bench-", dir=data_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bench_settings(work: Path, data_dir: Path | None) -> Settings:
    """Docent's defaults, with the embedded store forced (a .env or QDRANT_URL must not redirect it)."""
    models_home = data_dir if data_dir is not None else work
    return Settings(_env_file=None, data_dir=models_home, qdrant_url=None)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    settings = bench_settings(work, args.data_dir)
    corpus = load_corpus(snapshot(args.corpus, work / "corpus"), settings.chunk_max_words)
    bench = Bench(args, settings, corpus, work, default_backend(),
                  queries_from_headings(corpus, max(args.queries, args.agreement_queries)))
    load_before = os.getloadavg()[0]
    print(f"corpus {args.corpus}: {len(corpus.files)} files, {len(corpus.docs)} docs, "
          f"{len(corpus.chunks)} Docent chunks, {corpus.words:,} words | {os.cpu_count()} CPUs, "
          f"load average {load_before:.2f} | Docent's default backend here: {bench.default}", flush=True)
    result: dict[str, Any] = {
        "corpus": {"path": str(args.corpus), "files": len(corpus.files), "docs": len(corpus.docs),
                   "chunks": len(corpus.chunks), "words": corpus.words},
        "machine": {"cpus": os.cpu_count(), "load_avg_start": round(load_before, 2)},
        "default_backend": bench.default,
    }
    if "ingest" in args.sections:
        result["ingest"] = ingest_section(bench)
    if "reingest" in args.sections:
        result["reingest"] = reingest_section(bench)
    if "search" in args.sections:
        result["search"] = search_section(bench)
    result["machine"]["load_avg_end"] = round(os.getloadavg()[0], 2)
    result["model_load_s"] = {name: round(s, 2) for name, s in bench.load_s.items()}
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR)
    if args.corpora is not None:  # the per-corpus formats table (bench/formats.py)
        print_report(measure_corpora(args.corpora, args.only, embed=args.embed))
        return 0
    if not args.verbose:
        # ONNX export and local mode warn about things this benchmark knows and reports.
        warnings.simplefilter("ignore")
    with stopwatch() as total, workspace(args.data_dir) as work:
        result = run(args, work)
    result["elapsed_s"] = round(total.seconds, 1)
    print(f"\nwhole run: {total.seconds / 60:.1f} min")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
