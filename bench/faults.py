"""How long Docent takes to answer when the model or the store fails.

A real ``docent serve`` talks to a real OpenAI-compatible model server in its own
process (tests/service/openai_stub.py) through LiteLLM's ``openai/`` provider, with a
2 s answer deadline. Measured, as medians over ``--n`` requests each:

- baseline: the model answers normally (the same path, no fault);
- slow: the model waits 30 s before its first byte (JSON and SSE);
- stalled: the stream sends half an answer, then goes silent (SSE);
- killed: the model server process is gone (JSON);

and the time from a store lock being released to ``/readyz`` turning 200 (the service
was started while another process held the embedded store).

    .venv/bin/python bench/faults.py [--n 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._service import ROOT, data_dir, free_port, machine, plugin_env, serve  # noqa: E402

DEADLINE_S = 2.0
QUESTION = "How do I store the SOCKS5 proxy password in a file?"


def start_stub() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.service.openai_stub:app", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/_state", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("stub model server did not start")


def timed_json(base: str) -> tuple[float, dict[str, object]]:
    t0 = time.perf_counter()
    body = httpx.post(f"{base}/v1/chat", json={"message": QUESTION}, timeout=60).json()
    return time.perf_counter() - t0, body


def timed_sse(base: str) -> tuple[float, dict[str, object]]:
    t0 = time.perf_counter()
    final: dict[str, object] = {}
    with httpx.stream("POST", f"{base}/v1/chat", json={"message": QUESTION, "stream": True}, timeout=60) as r:
        name = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "final":
                final = json.loads(line[6:])
    return time.perf_counter() - t0, final


def series(label: str, call: object, base: str, n: int, expect_degraded: bool) -> float:
    times = []
    for _ in range(n):
        elapsed, body = call(base)  # type: ignore[operator]
        if bool(body.get("degraded")) != expect_degraded:
            raise SystemExit(f"{label}: expected degraded={expect_degraded}, got {body}")
        times.append(elapsed)
    median = statistics.median(times)
    print(f"  {label:<34} median {median * 1000:7.0f} ms   max {max(times) * 1000:7.0f} ms   "
          f"(deadline {DEADLINE_S:g} s; median/deadline {median / DEADLINE_S:.2f})", flush=True)
    return median


def store_recovery(data: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from docent.index.lock import StoreLock; "
         "l = StoreLock(Path(sys.argv[1]), 'ingest'); print('held', flush=True); time.sleep(600)",
         str(data / "index")], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    port = free_port()
    env = {**os.environ, "DOCENT_DATA_DIR": str(data), "DOCENT_MODEL": "docent-fake/echo-cite",
           "DOCENT_LOG_LEVEL": "WARNING", "DOCENT_EVAL_TRIGGER": "off", **plugin_env()}
    server = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        status = 0
        for _ in range(600):
            try:
                status = httpx.get(f"{base}/readyz", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        chat = httpx.post(f"{base}/v1/chat", json={"message": QUESTION}, timeout=30)
        print(f"  store locked by another process: /readyz {status}, chat {chat.status_code} "
              f"Retry-After {chat.headers.get('retry-after')}", flush=True)
        holder.kill()
        holder.wait()
        t0 = time.perf_counter()
        while httpx.get(f"{base}/readyz", timeout=5).status_code != 200:
            time.sleep(0.05)
        ready = time.perf_counter() - t0
        answered = httpx.post(f"{base}/v1/chat", json={"message": QUESTION}, timeout=30).json()
        print(f"  lock released -> ready in {ready * 1000:.0f} ms (retry interval 2 s); next chat answerable="
              f"{answered.get('answerable')}", flush=True)
    finally:
        holder.kill()
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5, help="requests per measurement (default 5)")
    args = parser.parse_args()
    print(f"bench/faults.py  machine={machine()}  date={time.strftime('%Y-%m-%d')}", flush=True)
    stub, stub_base = start_stub()
    try:
        with data_dir() as data:
            env = {"DOCENT_LLM__API_BASE": f"{stub_base}/v1", "OPENAI_API_KEY": "sk-stub",
                   "DOCENT_LLM__TIMEOUT_S": str(DEADLINE_S), "DOCENT_LLM__RETRIES": "0"}
            with serve(data, "openai/stub", env) as server:
                print("model faults (answer deadline 2 s):", flush=True)
                base_t = series("baseline: model answers", timed_json, server.base, args.n, False)
                httpx.post(f"{stub_base}/_mode", json={"mode": "slow", "delay": 30})
                slow = series("slow model (30 s), JSON", timed_json, server.base, args.n, True)
                series("slow model (30 s), SSE", timed_sse, server.base, args.n, True)
                httpx.post(f"{stub_base}/_mode", json={"mode": "stall"})
                series("stream stalls mid-answer, SSE", timed_sse, server.base, args.n, True)
                stub.kill()
                stub.wait()
                killed = series("model server killed, JSON", timed_json, server.base, args.n, True)
                print(f"  slow-model overrun past the deadline: {(slow - DEADLINE_S) * 1000:.0f} ms; "
                      f"killed/baseline latency ratio {killed / base_t:.2f}", flush=True)
            print("store faults:", flush=True)
            store_recovery(data)
    finally:
        stub.kill()


if __name__ == "__main__":
    main()
