"""What ``docent serve``'s connection limits (docent/serving.py) do against slow and idle clients.

Two servers in one run, each a subprocess on a free 127.0.0.1 port over the same app
(an empty docs dir, the fake model, no watcher), so their memory is measured alone:

- baseline: plain ``uvicorn entrypoints.asgi:app_from_env --factory --http httptools``, uvicorn's defaults;
- docent: ``docent serve`` (``BoundedHttpProtocol`` via ``uvicorn_options``), short deadlines from the flags.

Measured on each, in turn: ``--n`` idle connections (closed within ``--wait`` seconds? median and
max time to close), ``--n`` slow-header and ``--n`` slow-body connections dripping a byte a second
(closed? time to close, 408 received?), 20 connections each sending 5 MB of an unfinished header
(server RSS before/after, bytes the server took per connection), and GET /healthz latency (median)
while the idle connections are open, the sanity baseline. Every loop is bounded in count and time.

    .venv/bin/python bench/connections.py [--n 100] [--header-timeout 3] [--body-timeout 5] [--wait 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._service import ROOT, free_port, machine, plugin_env, rss_kib, stop  # noqa: E402

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
BODY = (b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{\"query\": \"")
BIG_CONNS, BIG_BYTES, CHUNK = 20, 5 * 1024 * 1024, 64 * 1024


@contextmanager
def server(tmp: Path, name: str, models: Path, cmd: list[str], env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """Run ``cmd`` (with ``{port}``) over a fresh data dir whose models link to ``models``; yield (port, pid)."""
    data, docs = tmp / name / "data", tmp / name / "docs"
    for d in (data, docs):
        d.mkdir(parents=True)
    (data / "models").symlink_to(models, target_is_directory=True)
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DOCENT_", "QDRANT_"))}
    full = {**base, "DOCENT_DATA_DIR": str(data), "DOCENT_DOCS_DIR": str(docs), "DOCENT_WATCH": "false",
            "DOCENT_MODEL": "docent-fake/echo-cite", "DOCENT_LOG_LEVEL": "WARNING", "DOCENT_EVAL_TRIGGER": "off",
            **plugin_env(), **env}
    log = tmp / f"{name}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([a.format(port=port) for a in cmd], env=full, cwd=ROOT, stdout=sink,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start (rc {proc.poll()}):\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        yield port, proc.pid
    finally:
        stop(proc)


def connect(port: int, n: int) -> list[tuple[socket.socket, float]]:
    out = [(socket.create_connection(("127.0.0.1", port), timeout=5), time.monotonic()) for _ in range(n)]
    for s, _ in out:
        s.setblocking(False)
    return out


def watch(conns: list[tuple[socket.socket, float]], limit_s: float) -> tuple[list[float], list[bytes]]:
    """Read every socket until the server closes it or ``limit_s`` passes: close times (from each
    socket's connect) of those closed, and what each socket received."""
    got = {s: b"" for s, _ in conns}
    born = dict(conns)
    closed: list[float] = []
    end = time.monotonic() + limit_s
    with selectors.DefaultSelector() as sel:
        for s, _ in conns:
            sel.register(s, selectors.EVENT_READ)
        while len(closed) < len(conns) and time.monotonic() < end:
            for key, _ in sel.select(timeout=0.1):
                s = cast(socket.socket, key.fileobj)
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    got[s] += chunk
                    continue
                closed.append(time.monotonic() - born[s])
                sel.unregister(s)
    return closed, list(got.values())


def drip(socks: list[socket.socket], first: bytes, stop: threading.Event, limit_s: float) -> None:
    """Send ``first`` on each socket, then one byte a second until ``stop`` or ``limit_s``."""
    for s in socks:
        with contextlib.suppress(OSError):
            s.send(first)
    end = time.monotonic() + limit_s
    while not stop.wait(1.0) and time.monotonic() < end:
        for s in socks:
            with contextlib.suppress(OSError):
                s.send(b"a")


def healthz_ms(port: int, n: int, out: list[float]) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            client.get("/healthz").raise_for_status()
            out.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)


def flood(port: int, n: int, wait_s: float, first: bytes | None) -> dict[str, object]:
    """``n`` connections, idle (``first`` None) or dripping after ``first``; GET /healthz meanwhile."""
    conns = connect(port, n)
    stop, lat = threading.Event(), cast(list[float], [])
    worker = threading.Thread(target=healthz_ms, args=(port, 20, lat), daemon=True) if first is None else \
        threading.Thread(target=drip, args=([s for s, _ in conns], first, stop, wait_s + 2), daemon=True)
    try:
        worker.start()
        closed, got = watch(conns, wait_s)
    finally:
        stop.set()
        worker.join(10)
        for s, _ in conns:
            s.close()
    answered = [g for g in got if g]
    return {"closed": f"{len(closed)}/{n}", "median": statistics.median(closed) if closed else None,
            "max": max(closed) if closed else None,
            "408": sum(g.startswith(b"HTTP/1.1 408 ") for g in answered), "healthz": lat}


def big_header(port: int, socks: list[socket.socket], sent: list[tuple[int, bool]], lock: threading.Lock) -> None:
    """Send up to BIG_BYTES of one unfinished header, stopping when the server closes; keep it open.

    The client's send buffer is pinned to 64 KiB (loopback autotunes it to 4 MiB), so what it
    counts as sent is close to what the server's side took in."""
    total, s = 0, socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)
    s.settimeout(5)
    with lock:
        socks.append(s)
    with contextlib.suppress(OSError):  # reset, broken pipe or 5 s without progress: the server stopped taking it
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        chunk, end = b"a" * CHUNK, time.monotonic() + 30
        while total < BIG_BYTES and time.monotonic() < end:
            s.sendall(chunk)
            total += CHUNK
    answer = b""
    with contextlib.suppress(OSError):
        s.settimeout(1)
        answer = s.recv(64)
    with lock:
        sent.append((total, answer.startswith(b"HTTP/1.1 431 ")))


def memory(port: int, pid: int) -> dict[str, object]:
    before, socks, lock = rss_kib(pid), cast(list[socket.socket], []), threading.Lock()
    sent: list[tuple[int, bool]] = []
    threads = [threading.Thread(target=big_header, args=(port, socks, sent, lock), daemon=True)
               for _ in range(BIG_CONNS)]
    try:
        for t in threads:
            t.start()
        peak, end = before, time.monotonic() + 40
        while any(t.is_alive() for t in threads) and time.monotonic() < end:
            peak = max(peak, rss_kib(pid))
            time.sleep(0.05)
        time.sleep(0.5)
        after = rss_kib(pid)  # the connections are still open here
    finally:
        for t in threads:
            t.join(10)
        with lock:
            for s in socks:
                s.close()
    return {"before": before, "peak": max(peak, after), "after": after,
            "sent": int(statistics.median(t for t, _ in sent)) if sent else 0, "431": sum(a for _, a in sent)}


def measure(port: int, pid: int, n: int, wait_s: float) -> dict[str, dict[str, object]]:
    res = {"idle": flood(port, n, wait_s, None), "slow header": flood(port, n, wait_s, HEAD),
           "slow body": flood(port, n, wait_s, BODY), "mem": memory(port, pid)}
    time.sleep(1)
    res["mem"]["healthy after"] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code
    return res


def fmt(v: object, unit: str = "") -> str:
    if v is None:
        return "never"
    return f"{v:.2f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def report(b: dict[str, dict[str, object]], d: dict[str, dict[str, object]]) -> None:
    rows: list[tuple[str, object, object, str]] = []
    for phase in ("idle", "slow header", "slow body"):
        rows += [(f"{phase}: closed by server", b[phase]["closed"], d[phase]["closed"], ""),
                 (f"{phase}: median s to close", fmt(b[phase]["median"]), fmt(d[phase]["median"]), ""),
                 (f"{phase}: max s to close", fmt(b[phase]["max"]), fmt(d[phase]["max"]), "")]
        if phase != "idle":
            rows.append((f"{phase}: 408 answers", b[phase]["408"], d[phase]["408"], ""))
    hb, hd = (statistics.median(cast(list[float], x["idle"]["healthz"])) for x in (b, d))
    rows.append(("GET /healthz during idle flood, median ms", f"{hb:.1f}", f"{hd:.1f}", f"{hd / hb:.2f}"))
    mb, md = b["mem"], d["mem"]
    grow_b, grow_d = (cast(int, m["after"]) - cast(int, m["before"]) for m in (mb, md))
    peak_b, peak_d = (cast(int, m["peak"]) - cast(int, m["before"]) for m in (mb, md))
    sent_b, sent_d = cast(int, mb["sent"]), cast(int, md["sent"])
    rows += [("5 MB headers x20: RSS before, MiB", f"{cast(int, mb['before']) / 1024:.0f}",
              f"{cast(int, md['before']) / 1024:.0f}", ""),
             ("5 MB headers x20: RSS growth after, MiB", f"{grow_b / 1024:.1f}", f"{grow_d / 1024:.1f}",
              f"{grow_d / grow_b:.3f}" if grow_b > 0 else ""),
             ("5 MB headers x20: RSS growth peak, MiB", f"{peak_b / 1024:.1f}", f"{peak_d / 1024:.1f}",
              f"{peak_d / peak_b:.3f}" if peak_b > 0 else ""),
             ("5 MB headers x20: KiB sent per conn (median)", sent_b // 1024, sent_d // 1024,
              f"{sent_d / sent_b:.3f}" if sent_b else ""),
             ("5 MB headers x20: 431 answers", mb["431"], md["431"], ""),
             ("/healthz status afterwards", mb["healthy after"], md["healthy after"], "")]
    print(f"\n| {'metric':<46} | {'baseline uvicorn':>16} | {'docent serve':>12} | {'ratio':>6} |")
    print(f"|{'-' * 48}|{'-' * 18}|{'-' * 14}|{'-' * 8}|")
    for name, vb, vd, ratio in rows:
        print(f"| {name:<46} | {vb!s:>16} | {vd!s:>12} | {ratio:>6} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="idle, slow-header and slow-body connections (100)")
    parser.add_argument("--header-timeout", type=float, default=3.0, help="docent header_timeout_s (3)")
    parser.add_argument("--body-timeout", type=float, default=5.0, help="docent body_timeout_s (5)")
    parser.add_argument("--wait", type=float, default=None, help="seconds to wait for closes (2x body timeout)")
    args = parser.parse_args()
    wait_s = args.wait if args.wait is not None else 2 * args.body_timeout
    print(f"bench/connections.py  machine={machine()}  date={time.strftime('%Y-%m-%d')}  n={args.n}  "
          f"header_timeout={args.header_timeout:g}s body_timeout={args.body_timeout:g}s wait={wait_s:g}s", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="docent-bench-conn-"))
    (models := tmp / "models").mkdir()
    py = sys.executable
    env = {"DOCENT_SERVER__HEADER_TIMEOUT_S": str(args.header_timeout),
           "DOCENT_SERVER__BODY_TIMEOUT_S": str(args.body_timeout)}
    try:
        # docent first: it exports the ONNX embedder into the shared models dir the baseline then reuses.
        with server(tmp, "docent", models, [py, "-m", "entrypoints.cli", "serve", "--host", "127.0.0.1", "--port",
                                            "{port}"], env) as (dport, dpid), \
             server(tmp, "baseline", models, [py, "-m", "uvicorn", "entrypoints.asgi:app_from_env", "--factory",
                                              "--http", "httptools", "--host", "127.0.0.1", "--port", "{port}",
                                              "--log-level", "warning"], {}) as (bport, bpid):
            print("servers up; measuring baseline uvicorn ...", flush=True)
            base = measure(bport, bpid, args.n, wait_s)
            print("measuring docent serve ...", flush=True)
            doc = measure(dport, dpid, args.n, wait_s)
        report(base, doc)
        print(f"\nload average after: {os.getloadavg()}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
