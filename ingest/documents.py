"""Stage 1: find source files and read them into ``Document``s (front matter + body).

Bad input never aborts a run: each file either becomes a Document or a ``Skipped``
record with a reason that the summary and the log carry.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from docent.paths import doc_file, refusal, walk_files
from docent.schema import Visibility, sha256_hex
from docent.urls import safe_url
from ingest.formats import Parsed, Parser, Source, docusaurus_url, parse_html, parse_markdown, parse_mdx, parse_text
from ingest.front_matter import Metadata, read_metadata
from ingest.injection import Flag
from ingest.injection import scan as scan_injection
from ingest.markdown_blocks import scan_blocks
from ingest.visibility import DEFAULT_POLICY, VisibilityPolicy, decide

log = logging.getLogger(__name__)

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".mdx": "mdx", ".html": "html", ".htm": "html",
            ".txt": "text", ".rst": "rst", ".pdf": "pdf"}
MAX_BYTES = 2_000_000  # a 5 MB "page" is an export or a log, not documentation
MAX_PDF_BYTES = 50_000_000  # a PDF's bytes are mostly fonts and images


def _parse_rst(src: Source) -> Parsed:
    from ingest.rst import parse_rst  # docutils is loaded only for folders that have .rst

    return parse_rst(src)


def _parse_pdf(src: Source) -> Parsed:
    from ingest.pdf import parse_pdf

    return parse_pdf(src)


# The map from file type to parser: each turns a file into the Markdown the splitter reads.
PARSERS: dict[str, Parser] = {"markdown": parse_markdown, "mdx": parse_mdx, "html": parse_html, "text": parse_text,
                              "rst": _parse_rst, "pdf": _parse_pdf}


@dataclass(frozen=True, slots=True)
class Document:
    """A source document with its metadata, body text and content hash."""

    path: str  # relative to the docs folder, POSIX separators
    kind: str  # markdown | mdx | html | text | rst | pdf (a key of PARSERS)
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
    # The version chunks carry (``doc_version``): a git source sets the commit of the file's last
    # change; empty means the content hash's first 12 characters.
    version: str = ""
    # Files of the folder this page pulls in (``{!x.md!}``, ``--8<--``, partials): fragments, not pages.
    included: tuple[str, ...] = field(default=())


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
    stem = re.sub(r"\.(md|markdown|mdx|html?|txt|rst)$", "", rel_path)  # a PDF keeps .pdf, for #page=N
    if stem.endswith("/index") or stem == "index":
        stem = stem[: -len("index")].rstrip("/")
    return f"{base_url.rstrip('/')}/{stem}"


def _title_from_body(body: str, fallback: str) -> str:
    """The first H1's text, as the splitter sees headings (setext ones too, none inside code)."""
    return next((b.text for b in scan_blocks(body) if b.kind == "heading" and b.level == 1 and b.text), fallback)


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
    kind = SUFFIXES.get(path.suffix.lower(), "text")
    limit = MAX_PDF_BYTES if kind == "pdf" else MAX_BYTES
    try:
        size = real.stat().st_size
        if size > limit:
            return Skipped(rel, f"too large ({size / 1e6:.1f} MB > {limit / 1e6:.0f} MB limit)")
        raw = real.read_bytes()
    except OSError as exc:
        return Skipped(rel, f"unreadable: {exc.strerror or exc}")
    if kind == "pdf":
        text, meta = "", Metadata()
    else:
        if b"\x00" in raw[:8192]:
            return Skipped(rel, "binary content")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return Skipped(rel, f"not valid UTF-8 (byte {exc.start})")
        meta = read_metadata(text, kind)
    parsed = PARSERS[kind](Source(root / rel if path != root else path, root, meta.body, raw, meta.fields))
    if parsed.skip:
        return Skipped(rel, parsed.skip)
    body = parsed.body
    if not body.strip():
        return Skipped(rel, "empty document")
    decision = decide(meta, rel, policy)
    if target != rel and decision.visibility == "public":
        decision = decide(meta, target, policy)
    warnings = [f"{problem}; ingested as internal" for problem in decision.problems]
    if not decision.explicit:
        warnings.append(decision.rule)
    warnings.extend(parsed.warnings)
    fallback = str(meta.fields.get("sidebar_label") or "") or Path(rel).stem.replace("-", " ").replace("_", " ").title()
    title = str(meta.fields.get("title") or parsed.title or _title_from_body(body, fallback))
    derived = docusaurus_url(rel, meta.fields, base_url) or doc_url(rel, base_url)
    url = _safe_url(meta.fields.get("url"), derived, warnings)
    # The access decision and URL are part of the hash: a changed path rule or default
    # must re-permission the page's chunks even when its text is unchanged. So are the
    # files it includes (none for most pages, whose hash is then as it always was).
    source = hashlib.sha256(raw).hexdigest() if kind == "pdf" else text
    doc_hash = sha256_hex("\x00".join([source, *parsed.depends, decision.visibility, ",".join(decision.groups), url]))
    return Document(rel, kind, title, url, decision.visibility, decision.groups, body, doc_hash,
                    tuple(warnings), decision.rule, bool(decision.problems) or not decision.explicit,
                    scan_injection(text or body), included=tuple(p for p in parsed.included if p != rel))


def fragments(docs: Iterable[Document]) -> dict[str, str]:
    """Files that a page of the same folder includes -> the first such page (by path).

    A fragment is not a page: its text reaches the index, /docs and llms.txt through the
    pages that include it. Only pages that nothing includes count as includers, so files
    that include each other in a cycle, with no page above them, stay pages. Paths are as
    the folder's own (``Document.path``), so a fragment that stops being included is a page
    again on the next read.
    """
    docs = sorted(docs, key=lambda d: d.path)
    included = {rel for doc in docs for rel in doc.included}
    found: dict[str, str] = {}
    for doc in docs:
        if doc.path not in included:
            for rel in doc.included:  # transitive already: nested includes are listed too
                found.setdefault(rel, doc.path)
    return found


def pages(docs: list[Document]) -> list[Document]:
    """``docs`` less the fragments (files that another of them includes), in the same order."""
    hidden = fragments(docs)
    return [doc for doc in docs if doc.path not in hidden] if hidden else docs


def read_all(root: Path, base_url: str, policy: VisibilityPolicy = DEFAULT_POLICY,
             fragments_out: dict[str, str] | None = None) -> Iterator[Document | Skipped]:
    """Documents and skips for every file below ``root``, refused symlinks included.

    Fragments (files that another page includes, see :func:`fragments`) are left out: they
    are neither documents nor skips, since nothing is wrong with them. ``fragments_out``, when
    given, receives them (fragment -> including page), and the log says how many there were.
    """
    files, refused = scan(root)
    yield from refused
    items = [read_document(path, root, base_url, policy) for path in files]
    paths = {item.path for item in items}  # a code include (``{* x.py *}``) names no doc of the folder
    hidden = {rel: page for rel, page in fragments(i for i in items if isinstance(i, Document)).items() if rel in paths}
    if hidden:
        log.info("%d included fragments are indexed through the pages that include them, not on their own "
                 "(e.g. %s, included by %s)", len(hidden), *next(iter(sorted(hidden.items()))))
    if fragments_out is not None:
        fragments_out.update(hidden)
    for item in items:
        if item.path not in hidden:
            yield item
