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

from docent.paths import doc_file, refusal, walk_files
from docent.schema import Visibility, sha256_hex
from docent.urls import safe_url
from ingest.front_matter import read_metadata
from ingest.injection import Flag
from ingest.injection import scan as scan_injection
from ingest.markdown_splitter import parse_heading
from ingest.visibility import DEFAULT_POLICY, VisibilityPolicy, decide

log = logging.getLogger(__name__)

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "text"}
MAX_BYTES = 2_000_000  # a 5 MB "page" is an export or a log, not documentation


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
    # What decided ``visibility`` ("front matter", "path rule '**/internal/**'", "failed closed: ...").
    visibility_rule: str = ""
    # True when doubt decided: metadata that could not be read, or no rule and no default.
    visibility_doubt: bool = False
    # Instruction-like text aimed at the answering model (ingest/injection.py): indexed, but flagged.
    injection_flags: tuple[Flag, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that could not be ingested, and why."""

    path: str
    reason: str


def scan(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Ingestible files below ``root`` (sorted; hidden ones left out), and the paths refused.

    A path that resolves outside ``root`` (a file or folder symlink, however deep) is
    refused and reported, never read: a docs checkout must not publish ``/etc/passwd``.
    """
    if root.is_file():
        return [root], []
    files, refused = walk_files(root, SUFFIXES)
    return files, [Skipped(p.relative_to(root).as_posix(), why) for p, why in refused]


def discover(root: Path) -> list[Path]:
    """Every ingestible file below ``root`` that resolves inside it, sorted."""
    return scan(root)[0]


def doc_url(rel_path: str, base_url: str) -> str:
    """The public URL of a doc derived from its path: ``a/b.md`` -> ``<base>/a/b``."""
    stem = re.sub(r"\.(md|markdown|html?|txt)$", "", rel_path)
    if stem.endswith("/index") or stem == "index":
        stem = stem[: -len("index")].rstrip("/")
    return f"{base_url.rstrip('/')}/{stem}"


def _title_from_body(body: str, fallback: str) -> str:
    """The first H1's text (parsed in linear time: a regex here was cubic on runs of spaces)."""
    for line in body.splitlines():
        heading = parse_heading(line)
        if heading and heading[0] == 1 and heading[1]:
            return heading[1]
    return fallback


def _safe_url(meta_url: object, derived: str, warnings: list[str]) -> str:
    if meta_url is None or meta_url == "":
        return derived
    url = str(meta_url).strip()
    if safe_url(url):
        return url
    warnings.append(f"front matter url {url[:80]!r} is not http(s), mailto or relative; the page's own URL is used")
    return derived


def read_document(path: Path, root: Path, base_url: str,
                  policy: VisibilityPolicy = DEFAULT_POLICY) -> Document | Skipped:
    """Read one file; never raises for bad content."""
    rel = path.relative_to(root).as_posix() if path != root else path.name
    # Checked again at open time: the walk's answer may be stale, and callers pass paths too.
    real = doc_file(root, path.relative_to(root)) if path != root else path
    if real is None:
        return Skipped(rel, refusal(root, path))
    # A link inside the folder is judged by both paths: a rule on the target's folder counts.
    target = real.relative_to(root.resolve()).as_posix() if path != root else rel
    try:
        size = real.stat().st_size
        if size > MAX_BYTES:
            return Skipped(rel, f"too large ({size / 1e6:.1f} MB > {MAX_BYTES / 1e6:.0f} MB limit)")
        raw = real.read_bytes()
    except OSError as exc:
        return Skipped(rel, f"unreadable: {exc.strerror or exc}")
    if b"\x00" in raw[:8192]:
        return Skipped(rel, "binary content")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(rel, f"not valid UTF-8 (byte {exc.start})")
    kind = SUFFIXES.get(path.suffix.lower(), "text")
    meta = read_metadata(text, kind)
    body = meta.body
    html_title = ""
    if kind == "html":
        from ingest.html_parser import html_to_markdown

        html_title, body = html_to_markdown(body)
    if not body.strip():
        return Skipped(rel, "empty document")
    decision = decide(meta, rel, policy)
    if target != rel and decision.visibility == "public":
        decision = decide(meta, target, policy)
    warnings = [f"{problem}; ingested as internal" for problem in decision.problems]
    if not decision.explicit:
        warnings.append(decision.rule)
    fallback_title = Path(rel).stem.replace("-", " ").title()
    title = str(meta.fields.get("title") or html_title or _title_from_body(body, fallback_title))
    url = _safe_url(meta.fields.get("url"), doc_url(rel, base_url), warnings)
    # The access decision and URL are part of the hash: a changed path rule or default
    # must re-permission the page's chunks even when its text is unchanged.
    doc_hash = sha256_hex("\x00".join([text, decision.visibility, ",".join(decision.groups), url]))
    return Document(rel, kind, title, url, decision.visibility, decision.groups, body, doc_hash,
                    tuple(warnings), decision.rule, bool(decision.problems) or not decision.explicit,
                    scan_injection(text))


def read_all(root: Path, base_url: str, policy: VisibilityPolicy = DEFAULT_POLICY) -> Iterator[Document | Skipped]:
    """Documents and skips for every file below ``root``, refused symlinks included."""
    files, refused = scan(root)
    yield from refused
    for path in files:
        yield read_document(path, root, base_url, policy)
