"""The corpus fingerprint and the change log that evaluations are triggered from.

``changes.jsonl`` gets one line per ingest that changed something: which docs were
added, changed or removed, and the fingerprint after the run. Before an ingest
touches the index it writes ``journal.json`` with its plan; if the process dies, the
next run folds the journal into its own entry, so no change goes unreported.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from docent.schema import sha256_hex


@dataclass(slots=True)
class ChangeSet:
    """Doc paths by what happened to them."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    @property
    def touched(self) -> set[str]:
        return {*self.added, *self.changed, *self.removed}

    def merge(self, other: ChangeSet) -> ChangeSet:
        """Union with an earlier, interrupted plan (earlier kinds lose to later ones)."""
        merged = ChangeSet(sorted(set(self.added) | (set(other.added) - set(self.removed))),
                           sorted(set(self.changed) | set(other.changed)),
                           sorted(set(self.removed) | (set(other.removed) - set(self.added))))
        merged.changed = sorted(set(merged.changed) - set(merged.added) - set(merged.removed))
        return merged


def fingerprint(doc_hashes: dict[str, str]) -> str:
    """One hash for the whole corpus: same docs, same content -> same fingerprint."""
    return sha256_hex("\n".join(f"{p}\t{h}" for p, h in sorted(doc_hashes.items())))[:16]


class ChangeLog:
    """Files under ``<data>/ingest/``."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "ingest"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log_path = self.folder / "changes.jsonl"
        self.journal_path = self.folder / "journal.json"

    def begin(self, plan: ChangeSet) -> ChangeSet:
        """Record the plan before touching the index; returns it merged with any crashed plan."""
        pending = self.pending()
        merged = plan.merge(pending) if pending else plan
        write_atomic(self.journal_path, json.dumps(asdict(merged)))
        return merged

    def pending(self) -> ChangeSet | None:
        try:
            return ChangeSet(**json.loads(self.journal_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def commit(self, changes: ChangeSet, fp: str, extra: dict[str, Any]) -> dict[str, Any] | None:
        """Append the entry (if anything changed) and clear the journal."""
        entry = None
        if not changes.empty:
            entry = {"ts": time.time(), "fingerprint": fp, **asdict(changes), **extra}
            with open(self.log_path, "a") as fh:
                fh.write(json.dumps(entry) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        write_atomic(self.folder / "fingerprint", fp)
        self.journal_path.unlink(missing_ok=True)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        """Every change-log entry, oldest first (torn last lines are ignored)."""
        if not self.log_path.exists():
            return []
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def current_fingerprint(self) -> str | None:
        try:
            return (self.folder / "fingerprint").read_text().strip() or None
        except OSError:
            return None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so a crash leaves either the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
