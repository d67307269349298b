"""Stage 1: find source files and read them into ``Document``s (front matter + body).

Bad input never aborts a run: each file either becomes a Document or a ``Skipped``
record with a reason that the summary and the log carry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from docent.schema import Visibility, sha256_hex
from ingest.injection import Flag, scan

log = logging.getLogger(__name__)

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}
MAX_BYTES = 2_000_000  # a 5 MB "page" is an export or a log, not documentation
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


@dataclass(frozen=True, slots=True)
class Document:
    """A source document with its metadata, body text and content hash."""

    path: str  # relative to the docs folder, POSIX separators
    kind: str  # markdown | html | text
    title: str
    url: str
    visibility: Visibility
    groups: tuple[str, ...]
    body: str
    doc_hash: str
    warnings: tuple[str, ...] = field(default=())
    # Instruction-like text aimed at the answering model (ingest/injection.py): indexed, but flagged.
    injection_flags: tuple[Flag, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be ingested, and why."""

    path: str
    reason: str


def discover(root: Path) -> list[Path]:
    """Every ingestible file below ``root``, sorted; hidden files and folders skipped."""
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def doc_url(rel_path: str, base_url: str) -> str:
    """The public URL of a doc derived from its path: ``a/b.md`` -> ``<base>/a/b``."""
    stem = re.sub(r"\.(md|markdown|html?|txt)$", "", rel_path)
    if stem.endswith("/index") or stem == "index":
        stem = stem[: -len("index")].rstrip("/")
    return f"{base_url.rstrip('/')}/{stem}"


def _front_matter(text: str) -> tuple[dict[str, object], str, list[str]]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text, []
    body = text[match.end():]
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""
        return {}, body, [f"front matter is not valid YAML{where}; ingested as internal with defaults"]
    if data is None:
        return {}, body, []
    if not isinstance(data, dict):
        return {}, body, ["front matter is not a mapping; ingested as internal with defaults"]
    return data, body, []


def _title_from_body(body: str, fallback: str) -> str:
    for line in body.splitlines():
        m = re.match(r"#\s+(.+?)\s*#*\s*$", line)
        if m:
            return m.group(1)
    return fallback


def read_document(path: Path, root: Path, base_url: str) -> Document | Skipped:
    """Read one file; never raises for bad content."""
    rel = path.relative_to(root).as_posix() if path != root else path.name
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return Skipped(rel, f"too large ({size / 1e6:.1f} MB > {MAX_BYTES / 1e6:.0f} MB limit)")
        raw = path.read_bytes()
    except OSError as exc:
        return Skipped(rel, f"unreadable: {exc.strerror or exc}")
    if b"\x00" in raw[:8192]:
        return Skipped(rel, "binary content")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(rel, f"not valid UTF-8 (byte {exc.start})")
    kind = SUFFIXES.get(path.suffix.lower(), "text")
    meta, body, warnings = _front_matter(text)
    if kind == "html":
        from ingest.html_parser import html_to_markdown

        html_title, body = html_to_markdown(body)
        meta.setdefault("title", html_title or "")
    if not body.strip():
        return Skipped(rel, "empty document")
    visibility = str(meta.get("visibility", "public")).strip().lower()
    if warnings:
        # Broken metadata must fail closed: a page whose visibility cannot be read
        # might be internal, so it never reaches customers.
        visibility = "internal"
    if visibility not in ("public", "internal"):
        warnings.append(f"unknown visibility {visibility!r}; treated as internal")
        visibility = "internal"
    raw_groups = meta.get("groups") or []
    groups = tuple(sorted(str(g) for g in raw_groups)) if isinstance(raw_groups, list) else (str(raw_groups),)
    title = str(meta.get("title") or _title_from_body(body, Path(rel).stem.replace("-", " ").title()))
    url = str(meta.get("url") or doc_url(rel, base_url))
    vis: Visibility = "public" if visibility == "public" else "internal"
    return Document(rel, kind, title, url, vis, groups, body, sha256_hex(text), tuple(warnings), scan(text))


def read_all(root: Path, base_url: str) -> Iterator[Document | Skipped]:
    """Documents and skips for every file below ``root``."""
    for path in discover(root):
        yield read_document(path, root, base_url)
