"""A throwaway PostgreSQL server for tests: initdb into a temp dir, start on a free port, stop.

Postgres refuses to run as root, so as root the cluster is owned and run by ``nobody``.
pytest's ``tmp_path`` lives under a 0700 folder that ``nobody`` cannot enter, so in that
case the data dir is a fresh ``mkdtemp`` folder, removed on stop.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def find_bin(name: str) -> str | None:
    """``name`` on PATH, or in Debian's versioned PostgreSQL folder."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    return all(find_bin(n) for n in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", *cmd]


@contextlib.contextmanager
def running_postgres(tmp_path: Path) -> Iterator[str]:
    """Yield a SQLAlchemy URL (psycopg 3) of a fresh, empty server; stop and clean up after."""
    root = Path(tempfile.mkdtemp(prefix="docent-pg-")) if os.geteuid() == 0 else tmp_path / "pg"
    root.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "nobody", "nogroup")
    data, log = root / "data", root / "server.log"
    port = _free_port()
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    assert initdb and pg_ctl
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    try:
        subprocess.run(_as_owner([initdb, "-D", str(data), "-U", "docent", "--auth=trust", "-E", "UTF8",
                                  "--no-sync"]), check=True, capture_output=True, env=env, timeout=120)
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "start", "-o",
                                  f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"]),
                       check=True, capture_output=True, env=env, timeout=90)
        try:
            yield f"postgresql+psycopg://docent@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, env=env, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
