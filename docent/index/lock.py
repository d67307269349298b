"""An exclusive, non-blocking file lock around the embedded store.

qdrant-edge is single-process: a second process that merely loads the shard was seen
to break the first one's next flush. So the whole store folder is guarded by one
``flock``; the holder writes its pid and role so the loser can say who has it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from docent.errors import StoreLockedError


class StoreLock:
    """Hold ``folder/.lock`` exclusively for the life of this object."""

    def __init__(self, folder: Path, role: str, info: dict[str, Any] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / ".lock"
        self._fh: IO[str] | None = open(self.path, "a+")  # noqa: SIM115 - held open on purpose
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(folder)
            self._fh.close()
            self._fh = None
            who = f"{holder.get('role', 'another process')} (pid {holder.get('pid', '?')})"
            hint = (
                " It is a running server: let it ingest (it watches the docs folder), "
                "or stop it first."
                if holder.get("role") == "server"
                else " Wait for it to finish, or stop it."
            )
            raise StoreLockedError(f"The embedded store {folder} is in use by {who}.{hint}") from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps({"pid": os.getpid(), "role": role, **(info or {})}))
        self._fh.flush()

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def read_holder(folder: Path) -> dict[str, Any]:
    """Who holds (or last held) the lock; empty if unknown."""
    try:
        data = json.loads((folder / ".lock").read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
