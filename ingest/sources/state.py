"""A source's state file: what its last sync did, written atomically after the index is updated."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from docent.settings import Settings, SourceSettings
from ingest.changelog import write_atomic


def source_dir(settings: Settings, source: SourceSettings) -> Path:
    """Where a source keeps its checkout, fetched pages and state: ``<data>/sources/<name>``."""
    return settings.data_dir / "sources" / source.name


# A user:token@ after a scheme (a token in a clone URL is a credential); query keys that carry secrets.
_USERINFO = re.compile(r"(?<=://)[^/@\s]{1,512}@")
_SECRET_KEYS = re.compile(r"(?i)(token|key|secret|pass|sig|auth|credential)")


def redacted(location: str) -> str:
    """``location`` safe to show (CLI, admin API, console): no ``user:password@``, and
    secret-looking query values masked. String code: a malformed URL (a port that is not
    a number) must not make showing it fail."""
    out = _USERINFO.sub("", location)
    parts = urlsplit(out)
    if parts.query:
        query = [(k, "***" if _SECRET_KEYS.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        out = urlunsplit(parts._replace(query=urlencode(query, safe="*")))
    return out


@dataclass(slots=True)
class SyncState:
    """The last sync of one source (``GET /v1/admin/sources`` shows it)."""

    name: str
    kind: str
    last_sync: float | None = None  # unix time the last sync finished
    seconds: float = 0.0
    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    version: str = ""  # git: the commit now indexed
    # What the index was built with: an unchanged commit skips the run only when both still hold.
    config: str = ""
    collection: str = ""
    # git: each file's last-changing commit (its version and citation link); website: nothing.
    file_commits: dict[str, str] = field(default_factory=dict)
    # git: each file with include syntax -> the names it includes (ingest/sources/depends.py);
    # None until scanned (a state saved before this existed): a diff then cannot trust it.
    includes: dict[str, list[str]] | None = None
    # Doc path -> why it was skipped, as of the last sync (a diff-only sync re-reads few files).
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for internal in ("file_commits", "config", "collection", "includes", "skipped"):
            out.pop(internal)
        return out

    @classmethod
    def load(cls, path: Path, name: str, kind: str) -> SyncState:
        """The saved state, or an empty one (never synced, or an unreadable file)."""
        try:
            data = json.loads(path.read_text())
            fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            return cls(**{**fields, "name": name, "kind": kind})
        except (OSError, ValueError, TypeError):
            return cls(name, kind)

    def save(self, path: Path) -> None:
        self.last_sync = self.last_sync or time.time()
        write_atomic(path, json.dumps(asdict(self), indent=1))
