"""Stage 2: split a document body into sections and size-bounded chunks.

LlamaIndex's MarkdownNodeParser splits on headings but does not bound size, and its
SentenceSplitter cuts tables and code fences wherever the budget runs out. So the
splitter is ours: a block scanner (heading, fence, table, paragraph) packs whole
blocks into chunks. A table too big for one chunk is split between rows with its
header repeated; a code fence is never split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
# MiniLM reads 256 word pieces; ~180 words of English stay under that with the
# title/heading prefix, so no chunk has an unsearchable tail.
DEFAULT_MAX_WORDS = 180


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # heading | code | table | text
    text: str
    level: int = 0


@dataclass(frozen=True, slots=True)
class Section:
    """Text under one heading, with the path of headings above it."""

    heading_path: tuple[str, ...]
    anchor: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Piece:
    """A chunk's text before it gets document metadata."""

    heading_path: tuple[str, ...]
    anchor: str
    text: str


def slugify(heading: str) -> str:
    """GitHub-style anchor: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_~\[\]()]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"\s", "-", text)


def scan_blocks(body: str) -> list[Block]:
    """Headings, fenced code, tables and paragraphs, in order."""
    blocks: list[Block] = []
    lines = body.splitlines()
    i = 0
    para: list[str] = []

    def flush_para() -> None:
        if para:
            blocks.append(Block("text", "\n".join(para).strip()))
            para.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush_para()
            marker = fence.group(1)
            code = [line]
            i += 1
            while i < len(lines):
                code.append(lines[i])
                if lines[i].strip().startswith(marker[0] * len(marker)) and len(code) > 1:
                    break
                i += 1
            blocks.append(Block("code", "\n".join(code)))
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush_para()
            blocks.append(Block("heading", heading.group(2).strip(), len(heading.group(1))))
        elif line.lstrip().startswith("|"):
            flush_para()
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(lines[i])
                i += 1
            blocks.append(Block("table", "\n".join(rows)))
            continue
        elif not line.strip():
            flush_para()
        else:
            para.append(line)
        i += 1
    flush_para()
    return [b for b in blocks if b.text]


def sections(body: str, title: str) -> list[Section]:
    """Group blocks under their heading path; text before any heading sits under the title."""
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    current: list[Block] = []
    path: tuple[str, ...] = (title,)
    anchor = ""

    def close() -> None:
        if current:
            out.append(Section(path, anchor, tuple(current)))

    for block in scan_blocks(body):
        if block.kind != "heading":
            current.append(block)
            continue
        close()
        current = []
        while stack and stack[-1][0] >= block.level:
            stack.pop()
        stack.append((block.level, block.text))
        names = [name for _, name in stack]
        # The H1 is the page title; keep the path rooted at the title either way.
        path = tuple(names) if names[0] == title else (title, *names)
        slug = slugify(block.text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchor = slug if count == 0 else f"{slug}-{count}"
    close()
    return out


_PIECE = re.compile(r"\w+|[^\w\s]")


def _words(text: str) -> int:
    """Size in words, counting punctuation-heavy text (code, tables) by its word pieces.

    MiniLM's limit is in word pieces; prose has ~1.2 per word, but `a.b_c: [1]` has
    many, so a budget in plain words let tables and code overflow the window.
    """
    return max(len(text.split()), int(len(_PIECE.findall(text)) / 1.1))


def _split_table(table: str, budget: int) -> list[str]:
    rows = table.splitlines()
    header, body = rows[:2], rows[2:]
    if len(rows) < 3 or not re.match(r"^\s*\|?\s*:?-{2,}", rows[1]):
        return [table]
    parts: list[str] = []
    current: list[str] = []
    for row in body:
        if current and _words("\n".join(header + current + [row])) > budget:
            parts.append("\n".join(header + current))
            current = []
        current.append(row)
    if current:
        parts.append("\n".join(header + current))
    return parts


def _split_text(text: str, budget: int) -> list[str]:
    sentences = re.split(r"(?<=[.!?])\s+", text)
    parts: list[str] = []
    current = ""
    for sentence in sentences:
        if current and _words(current) + _words(sentence) > budget:
            parts.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    if current:
        parts.append(current)
    return parts


def pack(section: Section, max_words: int = DEFAULT_MAX_WORDS) -> list[Piece]:
    """Pack a section's blocks into chunks of at most ``max_words`` (prefix included)."""
    prefix = _words(" ".join(section.heading_path))
    budget = max(40, max_words - prefix)
    units: list[str] = []
    for block in section.blocks:
        if _words(block.text) <= budget or block.kind == "code":
            units.append(block.text)  # code is never cut, even when long
        elif block.kind == "table":
            units.extend(_split_table(block.text, budget))
        else:
            units.extend(_split_text(block.text, budget))
    pieces: list[Piece] = []
    current: list[str] = []
    for unit in units:
        if current and _words("\n\n".join([*current, unit])) > budget:
            pieces.append(Piece(section.heading_path, section.anchor, "\n\n".join(current)))
            current = []
        current.append(unit)
    if current:
        pieces.append(Piece(section.heading_path, section.anchor, "\n\n".join(current)))
    return pieces


def split(body: str, title: str, max_words: int = DEFAULT_MAX_WORDS) -> list[Piece]:
    """All chunks of a markdown body, in document order."""
    return [piece for section in sections(body, title) for piece in pack(section, max_words)]
