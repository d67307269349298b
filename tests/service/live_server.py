"""Real servers on free 127.0.0.1 ports for the connection, proxy and auth-throttle tests.

``DocentProcess`` runs ``docent serve`` as a subprocess (the CLI's own uvicorn wiring,
so its process memory can be measured on its own); ``serve_in_thread`` runs an app with
the same uvicorn options in this process, over the session's shared index.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from docent.serving import uvicorn_options
from docent.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DocentProcess:
    """A running ``docent serve``: its URL, port and process."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]

    def rss_kib(self) -> int:
        """Resident memory of the server process (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


@contextmanager
def docent_serve(tmp: Path, models_cache: Path, env: dict[str, str], *args: str,
                 ready_path: str = "/healthz", start_timeout_s: float = 180) -> Iterator[DocentProcess]:
    """``docent serve`` on a free loopback port with an empty docs folder and no watcher.

    The data dir's ``models`` links to the session's ONNX export, so nothing is exported
    again. Stopped (terminate, then kill) when the block ends.
    """
    data, docs = tmp / "data", tmp / "docs"
    data.mkdir(parents=True)
    docs.mkdir()
    (data / "models").symlink_to(models_cache, target_is_directory=True)
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DOCENT_", "QDRANT_"))}
    # The docent-fake plugin (tests/fakes/llm.py) is imported from the repo root: the server runs in tmp.
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    full_env = {**base, "DOCENT_DATA_DIR": str(data), "DOCENT_DOCS_DIR": str(docs), "DOCENT_WATCH": "false",
                "DOCENT_MODEL": "docent-fake/echo-cite", "DOCENT_LOG_LEVEL": "WARNING", "PYTHONPATH": path,
                "DOCENT_PLUGINS": os.environ.get("DOCENT_PLUGINS", '["tests.fakes.llm"]'), **env}
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port), *args], env=full_env, cwd=tmp, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"docent serve exited {proc.returncode}:\n{(tmp / 'server.log').read_text()}")
            try:
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"docent serve did not start:\n{(tmp / 'server.log').read_text()}")
            time.sleep(0.3)
        yield DocentProcess(url, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@contextmanager
def serving(app: Any, **options: Any) -> Iterator[str]:
    """``app`` under uvicorn (these options) on a free 127.0.0.1 port, in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, **{"log_level": "warning", "lifespan": "on", **options}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_in_thread(app: Any, settings: Settings) -> Iterator[str]:
    """The app behind uvicorn with ``docent serve``'s own options, in a thread; yields its URL."""
    with serving(app, **uvicorn_options(settings)) as url:
        yield url
