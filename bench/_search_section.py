"""The search part of ``bench/ingest.py``: latency and reopen cost per synthetic size and backend.

Backends, all behind Docent's ``IndexStore``:

- ``edge``: the embedded store exactly as ingest leaves it (Docent never runs the
  shard's optimizers, so points stay in an appendable, brute-force segment);
- ``edge+optimize``: the same shard after ``EdgeShard.optimize()`` (HNSW built), to
  show what calling it would buy;
- ``local``: qdrant-client local mode on disk (``QdrantClient(path=...)``). Its writes
  commit SQLite once per point and its searches scan in Python, so above
  ``--local-path-max`` points the collection is built in memory (same search code) and
  only a few public-filter queries are timed within ``--local-budget-s``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from bench._report import stopwatch, table
from bench._search import (
    ACCESS,
    Latency,
    Reopen,
    fill,
    make_query,
    open_edge,
    open_local,
    open_local_memory,
    reopen,
    time_queries,
)
from bench._sections import Bench
from bench._synthetic import SyntheticSet, make_synthetic
from docent.index.base import Index, IndexStore, SearchQuery
from docent.schema import Access, IndexMeta
from docent.sparse import Bm25Encoder

P95_TARGET_MS = {10_000: 30.0, 100_000: 60.0}


@dataclass(frozen=True, slots=True)
class Plan:
    """How one backend is exercised at one size."""

    name: str
    opener: Callable[[], IndexStore]
    filters: tuple[str, ...]
    warmup: int = 10
    budget_s: float | None = None
    reopenable: bool = True


def _plans(bench: Bench, size: int) -> list[Plan]:
    args = bench.args
    plans = [Plan("edge", partial(open_edge, bench.work / f"edge-{size}"), tuple(ACCESS))]
    if args.skip_local or size > args.local_max_points:
        return plans
    if size <= args.local_path_max:
        plans.append(Plan("local", partial(open_local, bench.work / f"local-{size}"), tuple(ACCESS),
                          warmup=2, budget_s=args.local_budget_s))
    else:
        plans.append(Plan("local (memory)", open_local_memory, ("public",), warmup=0,
                          budget_s=args.local_budget_s, reopenable=False))
    return plans


def search_section(bench: Bench) -> dict[str, Any]:
    """Latency and reopen cost per synthetic size and backend; prints two tables."""
    args = bench.args
    embedder = bench.embedder(bench.default)
    meta = IndexMeta(embedder.name, embedder.dim)
    probe = make_query(bench.queries[0], embedder, Bm25Encoder(), Access.public())
    queries = [bench.queries[i % len(bench.queries)] for i in range(args.queries)]
    real_vectors = bench.chunk_vectors(bench.default)
    latencies: list[Latency] = []
    reopens: list[Reopen] = []
    for size in args.synthetic:
        with stopwatch() as gen:
            data = make_synthetic(bench.corpus.chunks, real_vectors, size, noise=args.noise)
        print(f"  {size:,} synthetic points generated in {gen.seconds:.1f}s "
              f"({data.internal_share:.0%} internal)", flush=True)
        for plan in _plans(bench, size):
            reopens.extend(_run_plan(bench, plan, size, meta, data, probe, queries, latencies))
            if plan.name == "edge" and not args.no_optimize:
                root = bench.work / f"edge-{size}"
                optimize_s = _optimize_edge(root)
                print(f"  edge @ {size:,}: optimize() took {optimize_s:.1f}s", flush=True)
                optimized = Plan("edge+optimize", partial(open_edge, root), tuple(ACCESS))
                reopens.append(_measure(bench, optimized, size, optimize_s, probe, queries, latencies))
    _print(latencies, reopens)
    return {"latency": [asdict(x) for x in latencies], "reopen": [asdict(x) for x in reopens],
            "p95_targets_ms": {str(k): v for k, v in P95_TARGET_MS.items()}}


def _run_plan(bench: Bench, plan: Plan, size: int, meta: IndexMeta, data: SyntheticSet, probe: SearchQuery,
              queries: list[str], latencies: list[Latency]) -> list[Reopen]:
    """Build the collection, then time searches (after a close and reopen where possible)."""
    store = plan.opener()
    index, build_s = fill(store, meta, data)
    print(f"  {plan.name} @ {size:,}: built in {build_s:.1f}s", flush=True)
    if plan.reopenable:
        store.close()
        return [_measure(bench, plan, size, build_s, probe, queries, latencies)]
    try:
        _time_filters(bench, plan, size, index, queries, latencies)
    finally:
        store.close()
    return []


def _measure(bench: Bench, plan: Plan, size: int, build_s: float, probe: SearchQuery, queries: list[str],
             latencies: list[Latency]) -> Reopen:
    """Reopen the closed store (timed), then time every filter."""
    store, index, reopened = reopen(plan.name, size, build_s, plan.opener, probe)
    try:
        _time_filters(bench, plan, size, index, queries, latencies)
    finally:
        store.close()
    return reopened


def _time_filters(bench: Bench, plan: Plan, size: int, index: Index, queries: list[str],
                  latencies: list[Latency]) -> None:
    embedder = bench.embedder(bench.default)
    for access in plan.filters:
        latencies.append(time_queries(plan.name, size, index, embedder, queries, access, warmup=plan.warmup,
                                      budget_s=plan.budget_s))


def _optimize_edge(root: Path) -> float:
    """Run qdrant-edge's optimizers (HNSW build) on the active shard; Docent never calls this."""
    name = (root / "ACTIVE").read_text().strip()
    shard = qe.EdgeShard.load(str(root / "collections" / name / "shard"))
    try:
        with stopwatch() as sw:
            shard.optimize()
    finally:
        shard.close()
    return sw.seconds


def _verdict(latency: Latency) -> str | None:
    target = P95_TARGET_MS.get(latency.points)
    if target is None or not latency.backend.startswith("edge"):
        return None
    return "ok" if latency.p95_ms <= target else f"over {target:.0f}"


def _print(latencies: list[Latency], reopens: list[Reopen]) -> None:
    rows = [[x.backend, x.points, x.access, x.queries, x.p50_ms, x.p95_ms, x.search_p50_ms, x.search_p95_ms,
             _verdict(x)] for x in latencies]
    print(table("Search latency in ms (end to end = query embedding + BM25 + hybrid search with filter)",
                ["backend", "points", "filter", "queries", "p50", "p95", "search p50", "search p95",
                 "p95 target"], rows))
    print(table("Build and reopen (open = construct store + open_active; first search excludes embedding)",
                ["backend", "points", "build/optimize s", "open ms", "first search ms"],
                [[r.backend, r.points, r.build_s, r.open_ms, r.first_search_ms] for r in reopens]))
