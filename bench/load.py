"""Load test: a real `docent serve` on loopback with a scripted model through LiteLLM.

The server is a separate process over a pre-ingested copy of docs-corpus; the model is
``docent-fake/...`` (the plugin in tests/fakes/llm.py, which ``bench/_service.serve``
loads; registered with LiteLLM like a real provider, so every request travels the
production Router path) and costs ~0, so what is measured is Docent itself.
Three parts, each bounded in requests:

1. **Baseline**: ``GET /healthz`` at ``--clients`` concurrent clients (the bare
   framework + loopback HTTP cost on this machine, measured in the same run).
2. **Sustained JSON chat** at ``--clients`` concurrent clients, ``--requests`` of them
   after ``--warmup``: req/s, p50/p95/p99, errors, req/s per 1k-request window, and the
   server's RSS (VmRSS from /proc) at start, after warm-up, every 1k requests and at the
   end, with the growth per 1k requests. Callers rotate between a staff key, a widget
   session token (the public widget path) and an anonymous server-to-server call.
3. **SSE**: ``--streams`` concurrent ``POST /v1/chat`` streams against a second server
   whose model is ``docent-fake/slow`` (waits ``--stream-delay`` s, then one delta per
   word), so all streams are open at once; each must end with a ``final`` event. Drops
   (no ``final``, an ``error`` event, a non-200 or a cut connection) are counted and the
   run fails unless there are none.

Settings changed for the bench (printed): a staff key, and the widget rate limits
raised to 1,000,000/min per token and per IP (every client is 127.0.0.1; the defaults,
20 and 60/min, would answer 429; anonymous API calls count against the per-IP limit
too). Chat rewrite is ``concat`` (no model call for it).

    .venv/bin/python bench/load.py [--clients 32] [--requests 10000] [--streams 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._service import (  # noqa: E402
    QUESTIONS,
    RATE_ENV,
    STAFF_KEY,
    data_dir,
    machine,
    pct,
    rss_kib,
    serve,
    staff_env,
)

Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def summary(latencies: list[float], wall: float, errors: int) -> dict[str, float | int]:
    return {"requests": len(latencies), "errors": errors, "wall_s": round(wall, 2),
            "req_per_s": round(len(latencies) / wall, 1), "p50_ms": round(pct(latencies, 0.50), 1),
            "p95_ms": round(pct(latencies, 0.95), 1), "p99_ms": round(pct(latencies, 0.99), 1)}


async def closed_loop(client: httpx.AsyncClient, call: Call, n: int, clients: int,
                      on_done: Callable[[int], None] | None = None) -> dict[str, float | int]:
    """``n`` requests from ``clients`` workers, each sending its next request when the last ends."""
    latencies: list[float] = []
    errors = 0
    issued = 0

    async def worker() -> None:
        nonlocal errors, issued
        while issued < n:
            i = issued
            issued += 1
            t0 = time.perf_counter()
            try:
                r = await call(client, i)
                errors += r.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)
            if on_done is not None:
                on_done(len(latencies))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return summary(latencies, time.perf_counter() - t0, errors)


async def widget_tokens(client: httpx.AsyncClient, base: str, n: int) -> list[str]:
    """``n`` public widget session tokens, minted from the server's own origin (the demo page)."""
    tokens = []
    for _ in range(n):
        r = await client.post("/v1/widget/session", json={"site_id": "demo"}, headers={"Origin": base})
        r.raise_for_status()
        tokens.append(r.json()["token"])
    return tokens


def caller_headers(i: int, base: str, tokens: list[str]) -> dict[str, str]:
    """Rotate: staff key, widget token (with its origin), anonymous server-to-server."""
    kind = i % 3
    if kind == 0:
        return {"X-API-Key": STAFF_KEY}
    if kind == 1:
        return {"Authorization": f"Bearer {tokens[i % len(tokens)]}", "Origin": base}
    return {}


async def json_load(base: str, pid: int, args: argparse.Namespace) -> dict[str, object]:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        rss = {"start_kib": rss_kib(pid)}
        tokens = await widget_tokens(client, base, 32)

        async def healthz(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get("/healthz")

        async def chat(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.post("/v1/chat", json={"message": QUESTIONS[i % len(QUESTIONS)]},
                                headers=caller_headers(i, base, tokens))

        await closed_loop(client, healthz, 200, args.clients)  # warm-up
        baseline = await closed_loop(client, healthz, args.baseline_requests, args.clients)
        print(f"healthz x{args.clients} (baseline): {json.dumps(baseline)}", flush=True)
        await closed_loop(client, chat, args.warmup, args.clients)
        rss["after_warmup_kib"] = rss_kib(pid)
        samples: list[dict[str, float | int]] = []
        window_start = [time.perf_counter()]

        def sample(done: int) -> None:
            if done % 1000 == 0:
                now = time.perf_counter()
                samples.append({"requests": done, "rss_kib": rss_kib(pid),
                                "window_req_per_s": round(1000 / (now - window_start[0]), 1)})
                window_start[0] = now
                print(f"  {done:>6} requests  RSS {samples[-1]['rss_kib'] / 1024:.1f} MiB  "
                      f"{samples[-1]['window_req_per_s']} req/s", flush=True)

        chat_run = await closed_loop(client, chat, args.requests, args.clients, on_done=sample)
        rss["end_kib"] = rss_kib(pid)
    growth = (rss["end_kib"] - rss["after_warmup_kib"]) / (args.requests / 1000)
    return {"healthz (baseline)": baseline, "chat": chat_run,
            "chat_vs_baseline_req_per_s": round(chat_run["req_per_s"] / baseline["req_per_s"], 3),
            "rss": {**rss, "growth_kib_per_1k": round(growth, 1), "samples": samples}}


async def one_stream(client: httpx.AsyncClient, i: int, headers: dict[str, str],
                     open_now: list[int]) -> dict[str, float | int | bool]:
    """One SSE chat held to completion: did it end with ``final``? Deltas, first-delta and total time."""
    t0 = time.perf_counter()
    deltas, event, first = 0, "", None
    final = error = False
    try:
        async with client.stream("POST", "/v1/chat", json={"message": QUESTIONS[i % len(QUESTIONS)],
                                                            "stream": True}, headers=headers) as r:
            if r.status_code != 200:
                return {"ok": False, "status": r.status_code}
            open_now[0] += 1
            open_now[1] = max(open_now[1], open_now[0])
            try:
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:].strip()
                    elif line.startswith("data: "):
                        deltas += event == "delta"
                        first = first or (time.perf_counter() if event == "delta" else None)
                        final |= event == "final"
                        error |= event == "error"
            finally:
                open_now[0] -= 1
    except httpx.HTTPError:
        return {"ok": False, "status": -1}
    end = time.perf_counter()
    return {"ok": final and not error, "deltas": deltas, "total_ms": (end - t0) * 1000,
            "first_delta_ms": ((first or end) - t0) * 1000}


async def sse_load(base: str, args: argparse.Namespace) -> dict[str, object]:
    limits = httpx.Limits(max_connections=args.streams + 8)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        tokens = await widget_tokens(client, base, 10)
        open_now = [0, 0]  # open streams now, most at once
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one_stream(client, i, caller_headers(i, base, tokens), open_now)
                                         for i in range(args.streams)))
        wall = time.perf_counter() - t0
    ok = [r for r in results if r["ok"]]
    return {"streams": len(results), "completed_with_final": len(ok), "drops": len(results) - len(ok),
            "max_open_at_once": open_now[1], "wall_s": round(wall, 2),
            "deltas_per_stream_p50": pct([float(r["deltas"]) for r in ok], 0.5) if ok else 0,
            "first_delta_p50_ms": round(pct([float(r["first_delta_ms"]) for r in ok], 0.5), 1) if ok else 0,
            "total_p50_ms": round(pct([float(r["total_ms"]) for r in ok], 0.5), 1) if ok else 0,
            "total_p99_ms": round(pct([float(r["total_ms"]) for r in ok], 0.99), 1) if ok else 0,
            "failed_statuses": sorted({int(r.get("status", 0)) for r in results if not r["ok"]})}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/load.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients for healthz and JSON chat")
    parser.add_argument("--requests", type=int, default=10_000, help="timed JSON chat requests (memory run)")
    parser.add_argument("--warmup", type=int, default=500, help="JSON chat requests before the timed run")
    parser.add_argument("--baseline-requests", type=int, default=3000, help="timed /healthz requests")
    parser.add_argument("--streams", type=int, default=100, help="concurrent SSE streams")
    parser.add_argument("--stream-delay", type=float, default=1.0,
                        help="seconds the slow fake model waits before streaming (holds streams open)")
    parser.add_argument("--skip-json", action="store_true", help="only the SSE part")
    parser.add_argument("--skip-sse", action="store_true", help="only the baseline and JSON chat")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = {**staff_env(), **RATE_ENV}
    print(f"machine {json.dumps(machine())}; bench settings: staff key, "
          f"{', '.join(f'{k}={v}' for k, v in RATE_ENV.items())}, DOCENT_CHAT__REWRITE=concat", flush=True)
    report: dict[str, object] = {"machine_start": machine()}
    with data_dir() as data:
        if not args.skip_json:
            with serve(data, "docent-fake/echo-cite", env) as server:
                report["json"] = asyncio.run(json_load(server.base, server.pid, args))
        if not args.skip_sse:
            sse_env = {**env, "DOCENT_FAKE_DELAY_S": str(args.stream_delay)}
            with serve(data, "docent-fake/slow", sse_env) as server:
                report["sse"] = asyncio.run(sse_load(server.base, args))
    report["machine_end"] = machine()
    if "json" in report:
        part = report["json"]
        assert isinstance(part, dict)
        rss = part["rss"]
        print(f"\nhealthz x{args.clients} (baseline)  {json.dumps(part['healthz (baseline)'])}")
        print(f"chat x{args.clients} (fake model)    {json.dumps(part['chat'])}")
        print(f"chat / baseline req/s             {part['chat_vs_baseline_req_per_s']}")
        print(f"server RSS MiB: start {rss['start_kib'] / 1024:.1f}, after warm-up "
              f"{rss['after_warmup_kib'] / 1024:.1f}, end {rss['end_kib'] / 1024:.1f}; "
              f"growth {rss['growth_kib_per_1k'] / 1024:.2f} MiB per 1k requests")
    if "sse" in report:
        sse = report["sse"]
        assert isinstance(sse, dict)
        print(f"SSE x{sse['streams']}: {sse['completed_with_final']} ended with final, "
              f"{sse['drops']} drops, {sse['max_open_at_once']} open at once  {json.dumps(sse)}")
    print(json.dumps(report))
    if "sse" in report and report["sse"]["drops"]:  # type: ignore[index]
        print("FAIL: some SSE streams did not end with a final event", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
