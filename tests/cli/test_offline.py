"""The CLI works with the network unreachable and never tries to leave loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from docent.settings import Settings
from tests.conftest import REPO

# Loaded by the child interpreter before anything else: every socket connect or DNS
# lookup to a non-loopback address is recorded and refused, as on an offline host.
GUARD = textwrap.dedent("""
    import os, socket
    _log = os.environ["NET_GUARD_LOG"]
    def _record(what):
        with open(_log, "a") as fh:
            fh.write(repr(what) + "\\n")
    def _loopback(host):
        return str(host) in ("localhost", "::1", "") or str(host).startswith("127.")
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            _record(("connect", address))
            raise OSError(101, "Network is unreachable")
        return _connect(self, address)
    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            _record(("connect_ex", address))
            return 101
        return _connect_ex(self, address)
    _getaddrinfo = socket.getaddrinfo
    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _loopback(host if isinstance(host, str) else host.decode()):
            _record(("getaddrinfo", host))
            raise socket.gaierror(-3, "Temporary failure in name resolution")
        return _getaddrinfo(host, *args, **kwargs)
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
""")


def test_cli_ingest_offline_makes_no_outside_connection(settings: Settings, mini_corpus: Path,
                                                        tmp_path: Path) -> None:
    """`docent ingest` succeeds with the network cut and records zero outside attempts."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    log.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "LITELLM", "RAGAS", "TIKTOKEN"))}
    env.update({"PYTHONPATH": str(guard), "NET_GUARD_LOG": str(log), "DOCENT_DATA_DIR": str(settings.data_dir),
                "HOME": str(tmp_path)})
    proc = subprocess.run([sys.executable, "-m", "entrypoints.cli", "ingest", str(mini_corpus), "--json"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["docs_added"] == 4
    # The guard really is active in the child (it would have logged a probe).
    probe = subprocess.run([sys.executable, "-c", "import socket\ntry: socket.create_connection(('192.0.2.1', 80), 1)\n"
                            "except OSError: pass"], env=env, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0
    attempts = log.read_text().splitlines()
    assert attempts == ["('getaddrinfo', '192.0.2.1')"] or attempts == ["('connect', ('192.0.2.1', 80))"], attempts
