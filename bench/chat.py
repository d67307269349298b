"""Service cost beyond the model, search latency, and the local model's speed.

1. A real `docent serve` (uvicorn, loopback) over docs-corpus with the scripted
   `docent-fake/echo-cite` model, so the model costs ~0 and what is measured is
   Docent: routing, rewrite, embedding, hybrid search, prompt, LiteLLM Router, citation
   checks, SQLite history. Sequential latency p50/p95 for /healthz (the HTTP floor,
   the baseline), /v1/search and /v1/chat; then 32 concurrent clients on /v1/chat for
   throughput and errors.
2. The default local model's time to first token and tokens/s on a typical question,
   through the same streaming API (skipped with --skip-local).

    .venv/bin/python bench/chat.py [--requests 200] [--concurrency 32] [--skip-local]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._service import QUESTIONS, data_dir, pct, serve  # noqa: E402


def sequential(base: str, n: int) -> dict[str, dict[str, float]]:
    out = {}
    with httpx.Client(base_url=base, timeout=60) as c:
        for name, call in (
            ("healthz (baseline)", lambda i: c.get("/healthz")),
            ("search", lambda i: c.post("/v1/search", json={"query": QUESTIONS[i % 6], "top_k": 5})),
            ("chat (fake model)", lambda i: c.post("/v1/chat", json={"message": QUESTIONS[i % 6]})),
        ):
            for i in range(5):
                call(i)  # warm-up
            times = []
            for i in range(n):
                t0 = time.perf_counter()
                r = call(i)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
            out[name] = {"p50_ms": statistics.median(times), "p95_ms": pct(times, 0.95)}
    return out


async def concurrent(base: str, n: int, clients: int) -> dict[str, float]:
    errors = 0
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker(c: httpx.AsyncClient) -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            t0 = time.perf_counter()
            try:
                r = await c.post("/v1/chat", json={"message": QUESTIONS[i % 6]})
                errors += r.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"requests": n, "clients": clients, "req_per_s": n / wall, "errors": errors,
            "p50_ms": statistics.median(latencies), "p95_ms": pct(latencies, 0.95)}


def local_model(base: str, runs: int) -> dict[str, float]:
    ttft, rates = [], []
    with httpx.Client(base_url=base, timeout=600) as c:
        for i in range(runs):
            t0 = time.perf_counter()
            first = None
            tokens = 0
            with c.stream("POST", "/v1/chat", json={"message": QUESTIONS[i % 6], "stream": True}) as r:
                for line in r.iter_lines():
                    if line.startswith("event: delta") and first is None:
                        first = time.perf_counter()
                    if line.startswith("data: ") and '"completion_tokens"' in line:
                        tokens = json.loads(line[6:])["usage"]["completion_tokens"]
            end = time.perf_counter()
            if first is not None and tokens:
                ttft.append(first - t0)
                rates.append(tokens / max(end - first, 1e-6))
    return {"runs": len(ttft), "ttft_p50_s": statistics.median(ttft) if ttft else float("nan"),
            "tokens_per_s_p50": statistics.median(rates) if rates else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--local-runs", type=int, default=4)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    report: dict[str, object] = {}
    # Ingested first, so the server's own start-up ingest is a no-op and does not
    # compete with the measured requests.
    with data_dir() as data:
        with serve(data, "docent-fake/echo-cite") as server:
            report.update(sequential(server.base, args.requests // 2))
            report["chat x32 (fake model)"] = asyncio.run(concurrent(server.base, args.requests, args.concurrency))
        if not args.skip_local:
            with serve(data, "docent-local/qwen2.5-coder-1.5b", settle_s=0) as server:
                report["local model (qwen2.5-coder-1.5b)"] = local_model(server.base, args.local_runs)
    base_p50 = report["healthz (baseline)"]["p50_ms"]  # type: ignore[index]
    for name, figures in report.items():
        line = "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())  # type: ignore[union-attr]
        ratio = figures.get("p50_ms", 0) / base_p50 if isinstance(figures, dict) and "p50_ms" in figures else None
        print(f"{name:36} {line}" + (f"  (x{ratio:.1f} baseline p50)" if ratio else ""))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
