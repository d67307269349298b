"""What the new interfaces cost over the API they wrap, on one real `docent serve`.

1. MCP ``search_docs`` through the official SDK client over streamable HTTP (one session,
   one tool call per sample: JSON-RPC framing, the SDK's server and pydantic output
   validation) against ``POST /v1/search`` with the same queries.
2. ``POST /v1/chat/completions`` (JSON, non-streaming) against ``POST /v1/chat`` with the
   scripted ``docent-fake/echo-cite`` model, so the model costs ~0 and the difference is
   the OpenAI translation. Note /v1/chat stores each turn in SQLite; the OpenAI route does
   not (OpenAI clients resend the whole conversation).

Medians of ``--n`` calls each (after 5 warm-up calls), sequential, same server, same questions.

    .venv/bin/python bench/interfaces.py [--n 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._service import QUESTIONS, data_dir, machine, pct, serve  # noqa: E402


def timed(n: int, call: Callable[[int], object]) -> list[float]:
    for i in range(5):
        call(i)  # warm-up
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def searches(base: str, n: int, rest: Callable[[int], object]) -> tuple[list[float], list[float]]:
    """MCP search_docs and POST /v1/search, in alternating blocks so load drift hits both alike."""
    async with httpx2.AsyncClient(timeout=60) as http, \
            Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        for i in range(5):
            await client.call_tool("search_docs", {"query": QUESTIONS[i % 6], "top_k": 5})
        mcp: list[float] = []
        plain: list[float] = []
        for block in range(5):
            plain += timed(n // 5, rest)  # sequential: blocking in the loop is what we want here
            for i in range(n // 5):
                t0 = time.perf_counter()
                result = await client.call_tool("search_docs", {"query": QUESTIONS[(block + i) % 6], "top_k": 5})
                mcp.append((time.perf_counter() - t0) * 1000)
                assert not result.is_error and result.structured_content["results"]
        return mcp, plain


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(values), 2), "p95_ms": round(pct(values, 0.95), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    with data_dir() as data, serve(data, "docent-fake/echo-cite") as server, \
            httpx.Client(base_url=server.base, timeout=60) as http:
        def search(i: int) -> object:
            r = http.post("/v1/search", json={"query": QUESTIONS[i % 6], "top_k": 5})
            r.raise_for_status()
            return r

        def chat(i: int) -> object:
            r = http.post("/v1/chat", json={"message": QUESTIONS[i % 6]})
            r.raise_for_status()
            return r

        def completions(i: int) -> object:
            r = http.post("/v1/chat/completions", json={"model": "docent",
                                                        "messages": [{"role": "user", "content": QUESTIONS[i % 6]}]})
            r.raise_for_status()
            return r

        mcp, rest_search = asyncio.run(searches(server.base, args.n, search))
        # Interleaved in blocks so drift in machine load hits both alike.
        plain: list[float] = []
        openai: list[float] = []
        for _ in range(5):
            plain += timed(args.n // 5, chat)
            openai += timed(args.n // 5, completions)
    result = {
        "machine": machine(), "n": args.n,
        "search": {"POST /v1/search": summary(rest_search), "MCP search_docs (SDK client, HTTP)": summary(mcp),
                   "mcp_overhead_p50_ms": round(statistics.median(mcp) - statistics.median(rest_search), 2)},
        "chat (docent-fake/echo-cite)": {
            "POST /v1/chat": summary(plain), "POST /v1/chat/completions": summary(openai),
            "openai_overhead_p50_ms": round(statistics.median(openai) - statistics.median(plain), 2)},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
