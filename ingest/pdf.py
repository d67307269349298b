"""PDF manuals through pypdf: one section per outline entry, else per page, anchored ``#page=N``.

The text layer is cleaned the way real manuals need: NFKC (ligatures such as "ﬁ",
math-italic letters), soft hyphens and odd spaces (TAB/CR/NBSP between words), running
headers and footers (a line, digits aside, that starts or ends most pages), dot-leader
table-of-contents lines, and lines re-joined into paragraphs. With an outline, each
entry's text runs from its title (found on its page) to the next entry's; without one,
each page is a section. ``#page=N`` is the fragment PDF viewers open at page N.

A PDF with no text at all (a scan) is skipped with a reason, not indexed empty; so is an
encrypted or broken one.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from ingest.formats import Parsed, Source

log = logging.getLogger(__name__)

MAX_PAGES = 3000
_EDGE = 4  # lines at the top and bottom of a page where running headers and footers live
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*[0-9ivxlc]{1,6}\s*$", re.I)
_SPACES = re.compile(r"[ \t\r\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_DIGITS = re.compile(r"\d+")
_END = (".", ":", "!", "?")


def clean(text: str) -> list[str]:
    """A page's extracted text as clean, non-empty lines."""
    text = unicodedata.normalize("NFKC", text.replace("-\u00ad\u2010", "-").replace("\u00ad", ""))
    text = text.replace("\u2010", "-").replace("\u2011", "-")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return [line for line in lines if line and not _DOT_LEADER.search(line)]


def _running(pages: list[list[str]]) -> set[str]:
    """Lines (digits aside) at the edge of most pages: running headers, footers, page numbers."""
    if len(pages) < 3:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_DIGITS.sub("#", line) for line in lines[:_EDGE] + lines[-_EDGE:]})
    return {line for line, count in seen.items() if count >= max(3, len(pages) // 2)}


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines re-joined: a short line ending a sentence ends its paragraph."""
    if not lines:
        return []
    typical = sorted(len(line) for line in lines)[len(lines) // 2]
    out: list[str] = []
    current = ""
    for line in lines:
        if current.endswith("-") and len(current) > 1 and current[-2].isalpha() and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
        if line.endswith(_END) and len(line) < 0.7 * typical:
            out.append(current)
            current = ""
    if current:
        out.append(current)
    # The splitter reads "#", "|" and fences as structure; PDF text is never that.
    return ["\\" + p if p[:1] in "#|" or p.startswith(("```", "~~~")) else p for p in out]


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(level, title, page index) of every outline entry that points at a page, in order."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: BLE001, S112  # a dangling destination is skipped, not fatal
                continue
            title = " ".join(unicodedata.normalize("NFKC", str(getattr(item, "title", "") or "")).split())
            if title and page is not None and page >= 0:
                found.append((level, title, page))

    try:
        walk(list(reader.outline), 0)
    except Exception:  # noqa: BLE001  # a broken outline: fall back to pages
        return []
    return found


def _key(text: str) -> str:
    """Letters and digits only, without a leading section number ("1.2 Setup" -> "setup")."""
    return "".join(ch for ch in text.lower() if ch.isalnum()).lstrip("0123456789")[:40]


def _by_outline(pages: list[list[str]], outline: list[tuple[int, str, int]]) -> list[str]:
    flat = [(p, line) for p, lines in enumerate(pages) for line in lines]
    page_start = [0] * (len(pages) + 1)
    for p in range(len(pages)):
        page_start[p + 1] = page_start[p] + len(pages[p])
    starts: list[tuple[int, int, str, int, bool]] = []  # (index, level, title, page, title line found)
    previous = 0
    for level, title, page in outline:
        if page >= len(pages):
            continue
        lo = max(previous, page_start[page])
        key = _key(title)
        hit = next((i for i in range(lo, page_start[page + 1]) if key and _key(flat[i][1]).startswith(key[:25])), -1)
        index = hit if hit >= 0 else max(lo, page_start[page])
        starts.append((index, level, title, page, hit >= 0))
        previous = index
    out = _paragraphs([line for _, line in flat[:starts[0][0]]]) if starts else []
    for n, (index, level, title, page, found) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(flat)
        body = [line for _, line in flat[index + found:end]]
        out.append(f"{'#' * min(level + 2, 6)} {title} {{#page={page + 1}}}")
        out.extend(_paragraphs(body))
    return out


def parse_pdf(src: Source) -> Parsed:
    """A PDF's text as Markdown sections; see the module docstring."""
    try:
        reader = PdfReader(io.BytesIO(src.raw))
        if reader.is_encrypted and not reader.decrypt(""):
            return Parsed(skip="encrypted PDF (a password is needed to read it)")
        if len(reader.pages) > MAX_PAGES:
            return Parsed(skip=f"PDF has {len(reader.pages)} pages (limit {MAX_PAGES})")
        pages = [clean(page.extract_text() or "") for page in reader.pages]
        outline = _outline(reader)
        meta_title = str(reader.metadata.get("/Title") or "").strip() if reader.metadata else ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        return Parsed(skip=f"PDF does not parse ({type(exc).__name__}: {str(exc)[:120]})")
    if not any(pages):
        return Parsed(skip=f"PDF has no text layer ({len(pages)} pages, no extractable text; a scan needs OCR first)")
    running = _running(pages)
    pages = [[line for line in lines if _DIGITS.sub("#", line) not in running] for lines in pages]
    if outline:
        blocks = _by_outline(pages, outline)
    else:
        blocks = []
        for number, lines in enumerate(pages, 1):
            if lines:
                blocks.append(f"## Page {number} {{#page={number}}}")
                blocks.extend(_paragraphs(lines))
    # Word and converters leave "Microsoft Word - x.docx" or a file name as the title.
    title = "" if meta_title.lower().startswith("microsoft word") or meta_title.lower().endswith(
        (".doc", ".docx", ".pdf", ".tex")) else meta_title
    return Parsed("\n\n".join(blocks), title)
