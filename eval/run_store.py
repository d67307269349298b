"""Runs on disk: ``<runs_dir>/<id>.json|.csv|.html``, the journal of a run in progress, a lock.

A run in progress appends every finished step (an answer, one metric of one question)
to ``partial.jsonl`` and fsyncs it, so an interrupted run (Ctrl-C, a crash, a
restart of the server) continues where it stopped: the next run with the same
questions, models and corpus replays the journal and does only what is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from eval.records import RunRecord

PARTIAL = "partial.jsonl"
RUN_ID = re.compile(r"^\d{8}T\d{6}Z(?:-\d+)?$")


class RunStore:
    """The runs folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    # -- finished runs -------------------------------------------------------------
    def ids(self) -> list[str]:
        """Run ids, oldest first (ids sort by start time)."""
        return sorted(p.stem for p in self.folder.glob("*.json") if RUN_ID.match(p.stem))

    def path(self, run_id: str, suffix: str = ".json") -> Path:
        if not RUN_ID.match(run_id):
            raise KeyError(run_id)
        return self.folder / f"{run_id}{suffix}"

    def load(self, run_id: str) -> RunRecord:
        """A stored run; KeyError if there is none by that id."""
        path = self.path(run_id)
        try:
            return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise KeyError(run_id) from None

    def latest(self) -> RunRecord | None:
        ids = self.ids()
        return self.load(ids[-1]) if ids else None

    def history(self, limit: int | None = None) -> list[RunRecord]:
        """Stored runs, oldest first (the last ``limit`` of them)."""
        ids = self.ids()
        return [self.load(i) for i in (ids[-limit:] if limit else ids)]

    def save(self, record: RunRecord) -> Path:
        path = self.path(record.id)
        write_atomic(path, json.dumps(record.to_json(), indent=1))
        return path

    # -- the run in progress ---------------------------------------------------------
    @property
    def partial_path(self) -> Path:
        return self.folder / PARTIAL

    def read_partial(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(header, events) of an interrupted run; a torn last line is ignored."""
        try:
            lines = self.partial_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None, []
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        if not rows or rows[0].get("type") != "header":
            return None, []
        return rows[0], rows[1:]

    def start_partial(self, header: dict[str, Any]) -> None:
        write_atomic(self.partial_path, json.dumps({"type": "header", **header}) + "\n")

    def append(self, event: dict[str, Any]) -> None:
        with open(self.partial_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def clear_partial(self) -> None:
        self.partial_path.unlink(missing_ok=True)

    # -- one run at a time -------------------------------------------------------------
    @contextlib.contextmanager
    def exclusive(self, *, wait: bool = False) -> Iterator[bool]:
        """Hold the runs folder's lock; yields False (without holding it) if busy and not waiting."""
        fh: IO[str] = open(self.folder / ".lock", "a+")  # noqa: SIM115 - held for the block
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()

    def running(self) -> bool:
        """Whether some process is running an evaluation on this folder now."""
        with self.exclusive() as free:
            return not free


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
