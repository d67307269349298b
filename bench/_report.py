"""Small statistics and plain-text tables for the benchmark reports."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation; NaN for no samples."""
    if not samples:
        return float("nan")
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)


@dataclass(slots=True)
class Stopwatch:
    """Wall and process-CPU seconds of a ``with stopwatch() as sw:`` block.

    CPU seconds (all threads of this process) move less than wall time when other
    work shares the machine, so both are reported for the throughput runs.
    """

    seconds: float = 0.0
    cpu_seconds: float = 0.0


@contextmanager
def stopwatch() -> Iterator[Stopwatch]:
    sw = Stopwatch()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        yield sw
    finally:
        sw.seconds = time.perf_counter() - start
        sw.cpu_seconds = time.process_time() - cpu_start


def fmt(value: object, digits: int = 1) -> str:
    """A table cell: floats rounded, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 1) -> str:
    """A left-aligned first column and right-aligned numbers, under a title line."""
    cells = [[fmt(v, digits) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(list(headers)))
    return "\n".join([f"\n{title}", rule, line(list(headers)), rule, *(line(r) for r in cells), rule])
