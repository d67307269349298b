"""A real `docent serve` on loopback for the HTTP benchmarks (chat, load, fuzz).

The server runs in its own process, so the load generator's CPU is not counted inside
it, over a private data dir that is ingested beforehand (the server's start-up ingest
then finds nothing to do). Benchmarks call it with a staff key (``STAFF_KEY``) and/or as
public callers; settings they change are passed as ``DOCENT_*`` variables and listed in
what they print. The rate limits for public callers are raised (``RATE_ENV``), since
every request comes from one loopback address. The scripted ``docent-fake/...`` models
are a plugin kept with the tests (``tests/fakes/llm.py``): every server started here
loads it (``plugin_env()``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
STAFF_KEY = "bench-staff-key"
# Every benchmark client is 127.0.0.1, and public calls (widget tokens, and anonymous
# API calls too) share a per-address limit of 60/min by default: raised for the benches.
RATE_ENV = {"DOCENT_WIDGET__RATE_PER_MINUTE_TOKEN": "1000000", "DOCENT_WIDGET__RATE_PER_MINUTE_IP": "1000000",
            "DOCENT_AUTH__FAILURES_PER_MINUTE_IP": "1000000"}
# The plugin that registers the scripted docent-fake provider (docent/plugins.py).
FAKE_PLUGINS = ["tests.fakes.llm"]
QUESTIONS = [
    "How do I store the SOCKS5 proxy password in a file?",
    "What port does the agent status server listen on?",
    "How long is an enrollment token valid?",
    "How do I make the agent trust our internal root CA?",
    "What is the overage price per GB on the Team plan?",
    "Which config key replaced upload.parallelism in 3.1?",
]


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, q in 0..1."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plugin_env() -> dict[str, str]:
    """``DOCENT_PLUGINS`` naming the docent-fake plugin, and the repo root on ``PYTHONPATH``
    (``tests`` is a package there, not an installed one), for a server subprocess."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {"DOCENT_PLUGINS": json.dumps(FAKE_PLUGINS), "PYTHONPATH": path}


def staff_env() -> dict[str, str]:
    """One admin staff key, ``STAFF_KEY``, for authenticated requests."""
    digest = hashlib.sha256(STAFF_KEY.encode()).hexdigest()
    # The per-key rate limit (600/min by default) would throttle the benchmark itself.
    return {"DOCENT_AUTH__STAFF_KEYS": json.dumps([{"name": "bench", "sha256": digest, "admin": True}]),
            "DOCENT_AUTH__RATE_PER_MINUTE_KEY": "100000000"}


def rss_kib(pid: int) -> int:
    """Resident set size of a process (VmRSS from /proc), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine() -> dict[str, object]:
    """CPU count, model and load average, for the report."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"cpus": os.cpu_count(), "cpu": model, "load_avg": round(os.getloadavg()[0], 2)}


def stop(proc: subprocess.Popen[bytes], wait_s: float = 20) -> None:
    """Terminate a server process, and kill it if it has not exited within ``wait_s``."""
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def data_dir() -> Iterator[Path]:
    """A temporary data dir with docs-corpus already ingested.

    Its ``models`` is a link to the checkout's ``data/models`` (the ONNX export and the
    GGUF files are only read), so neither a 1 GB copy nor a fresh ONNX export is timed.
    """
    data = Path(tempfile.mkdtemp(prefix="docent-bench-"))
    try:
        if (ROOT / "data" / "models").exists():
            (data / "models").symlink_to(ROOT / "data" / "models", target_is_directory=True)
        subprocess.run([sys.executable, "-m", "entrypoints.cli", "ingest", "-q"], cwd=ROOT, check=True,
                       env={**os.environ, "DOCENT_DATA_DIR": str(data)}, stdout=subprocess.DEVNULL)
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)


@dataclass(frozen=True)
class Server:
    base: str
    pid: int


@contextmanager
def serve(data: Path, model: str, env: Mapping[str, str] | None = None, settle_s: float = 3.0) -> Iterator[Server]:
    """``docent serve`` on a free loopback port over ``data``, ready; stopped on exit.

    The widget rate limits are raised (``RATE_ENV``) unless ``env`` says otherwise.
    """
    port = free_port()
    full_env = {**os.environ, "DOCENT_DATA_DIR": str(data), "DOCENT_MODEL": model, "DOCENT_LOG_LEVEL": "WARNING",
                "DOCENT_DOCS_DIR": str(ROOT / "docs-corpus"), "DOCENT_CHAT__REWRITE": "concat",
                "DOCENT_EVAL_TRIGGER": "off", **plugin_env(), **RATE_ENV, **(env or {})}
    log = data / f"serve-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)], env=full_env,
                                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"docent serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not become ready")
            time.sleep(0.5)
        time.sleep(settle_s)  # the hosted watcher's start-up pass finds nothing to do
        yield Server(base, proc.pid)
    finally:
        stop(proc, 30)
