"""Stage 2: split a document body into sections and size-bounded chunks.

Where the blocks are is markdown-it-py's call (``ingest/markdown_blocks.py``): a
maintained CommonMark parser with the GFM table rule, rather than a hand-written line
scanner that got setext headings, indented code, lists and tables-without-``|`` wrong
and needed a new pattern for each. The blocks keep the author's Markdown, sliced from
the source by line.

What stays here is ours, because no parser does it: grouping blocks under their heading
path (sections, with the anchors citations link to) and packing whole blocks into
chunks the embedder can read. LlamaIndex's MarkdownNodeParser splits on headings but
does not bound size, and its SentenceSplitter cuts tables and code fences wherever the
budget runs out. Here a table too big for one chunk is split between rows with its
header repeated; a list between its items; a code fence stays whole up to a hard cap
and is split at line boundaries, re-opened with its info string, beyond it.

Document text is hostile input: nothing here may take more than linear time (markdown-it
only parses the block level, with nesting capped), and every chunk has a hard size cap
whatever the document looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.headings import MAX_HEADING_CHARS, parse_heading, parse_heading_id, slugify
from ingest.markdown_blocks import Block, scan_blocks
from ingest.markup import closes, is_fence

__all__ = ["MAX_HEADING_CHARS", "Block", "Piece", "Section", "heading_anchor", "pack", "parse_heading",
           "parse_heading_id", "scan_blocks", "sections", "slugify", "split"]

# MiniLM reads 256 word pieces; ~180 words of English stay under that with the
# title/heading prefix, so no chunk has an unsearchable tail.
DEFAULT_MAX_WORDS = 180
# Hard caps, whatever the document holds (a 2 MB line, a 2 MB <pre>, a giant cell).
# Sizes are counted with _words, a cheap estimate of MiniLM word pieces (every word and
# every punctuation mark is at least one piece) rather than the embedder's tokenizer: the
# splitter stays a pure function, independent of which model is configured, and it runs on
# megabytes of text. The estimate cannot see pieces *inside* a word (CJK, long
# identifiers), hence a second cap in characters: a piece covers at least one character,
# and English averages ~4 per piece. Prose and tables are held to the word budget; code
# may exceed it (examples stay whole, as before) up to MAX_CODE_WORDS, then is split.
# A long example, not a file. By the estimate: number-heavy code has up to ~2x as many real
# MiniLM pieces (a 2 MB <pre> of `line 1 = value 1` gave 1,400 for an estimate of 717).
MAX_CODE_WORDS = 4 * DEFAULT_MAX_WORDS
MAX_CHUNK_CHARS = 4000  # corpus chunks are under 800; this bounds tokens to ~1,000 in English
MAX_CHUNKS_PER_DOC = 2000  # the largest corpus page has 33; ingest indexes no more than this of one page


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


def heading_anchor(block: Block, seen: dict[str, int]) -> str:
    """A heading's anchor: its explicit id, or its slug de-duplicated GitHub-style (``-1``, ``-2``).

    The one rule for the splitter's citation URLs and the /docs page's heading ids.
    """
    if block.anchor:
        seen[block.anchor] = seen.get(block.anchor, 0) + 1
        return block.anchor
    slug = slugify(block.text)
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


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
        anchor = heading_anchor(block, seen)
    close()
    return out


_PIECE = re.compile(r"\w+|[^\w\s]")
_NON_SPACE = re.compile(r"\S+")
_MAX_FENCE_LINE = 40  # of an opening or closing fence line repeated in each piece of a split fence


def _counts(text: str) -> tuple[int, int]:
    """(words, word pieces): both add up exactly over texts joined by whitespace."""
    return len(text.split()), len(_PIECE.findall(text))


def _estimate(words: int, pieces: int) -> int:
    return max(words, int(pieces / 1.1))


def _words(text: str) -> int:
    """Size in words, counting punctuation-heavy text (code, tables) by its word pieces.

    MiniLM's limit is in word pieces; prose has ~1.2 per word, but `a.b_c: [1]` has
    many, so a budget in plain words let tables and code overflow the window.
    """
    return _estimate(*_counts(text))


def _fits(text: str, limit: int, max_chars: int = MAX_CHUNK_CHARS) -> bool:
    return len(text) <= max_chars and _words(text) <= limit


def _hard_cut(word: str, limit: int, max_chars: int) -> list[str]:
    """A word without spaces (a minified blob, a base64 line) cut anywhere into pieces that fit."""
    parts: list[str] = []
    size, pos = max(1, max_chars), 0
    while pos < len(word):
        part = word[pos:pos + size]
        while _words(part) > limit:  # a piece covers >= 1 character, so this ends by size <= limit
            size = max(1, min(size - 1, len(part) * limit // (_words(part) + 1)))
            part = part[:size]
        parts.append(part)
        pos += len(part)
    return parts


def _cut_words(line: str, limit: int, max_chars: int) -> list[str]:
    """A line too big for one chunk, cut between words (each part is a substring of the line)."""
    parts: list[str] = []
    start = end = -1
    words = pieces = 0
    for m in _NON_SPACE.finditer(line):
        c_words, c_pieces = _counts(m.group())
        if start >= 0 and (_estimate(words + c_words, pieces + c_pieces) > limit or m.end() - start > max_chars):
            parts.append(line[start:end])
            start = -1
        if start < 0:
            if not _fits(m.group(), limit, max_chars):
                parts.extend(_hard_cut(m.group(), limit, max_chars))
                continue
            start, words, pieces = m.start(), 0, 0
        end, words, pieces = m.end(), words + c_words, pieces + c_pieces
    if start >= 0:
        parts.append(line[start:end])
    return parts


def _ranges(units: list[str], limit: int, glue: list[str], max_chars: int = MAX_CHUNK_CHARS,
            base: tuple[int, int, int] = (0, 0, 0)) -> list[tuple[int, int]]:
    """Greedy runs ``units[i:j]`` whose join (``glue[k]`` before unit k, plus ``base`` words,
    pieces and characters) stays within the limits; a unit that alone is too big is a run alone."""
    runs: list[tuple[int, int]] = []
    first = 0
    words, pieces, chars = base
    for i, unit in enumerate(units):
        c_words, c_pieces = _counts(unit)
        if i > first and (_estimate(words + c_words, pieces + c_pieces) > limit
                          or chars + len(glue[i]) + len(unit) > max_chars):
            runs.append((first, i))
            first, (words, pieces, chars) = i, base
        chars += (len(glue[i]) if i > first else 0) + len(unit)
        words, pieces = words + c_words, pieces + c_pieces
    if first < len(units):
        runs.append((first, len(units)))
    return runs


def _join_fitting(units: list[str], limit: int, sep: str, max_chars: int = MAX_CHUNK_CHARS,
                  base: tuple[int, int, int] = (0, 0, 0)) -> list[list[str]]:
    """Greedy groups of units whose join with ``sep`` (plus ``base`` words, pieces and
    characters) stays within the limits; a unit that alone is too big is a group alone."""
    return [units[i:j] for i, j in _ranges(units, limit, [sep] * len(units), max_chars, base)]


def _cut(text: str, limit: int, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Text too big for one chunk, cut at line boundaries, then between words, then anywhere."""
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend([line] if _fits(line, limit, max_chars) else _cut_words(line, limit, max_chars))
    return ["\n".join(group) for group in _join_fitting(lines, limit, "\n", max_chars)]


def _split_code(code: str, limit: int) -> list[str]:
    """An oversized fence as several fences, cut at line boundaries, each re-opened with its info string."""
    lines = code.split("\n")
    marker = is_fence(lines[0]) or "```"
    # An info string is a language name: a giant one is cut rather than repeated in every piece.
    opener = lines[0][:_MAX_FENCE_LINE]
    closed = len(lines) > 1 and closes(lines[-1], marker)
    closer = (lines[-1] if closed else marker)[:_MAX_FENCE_LINE]  # still closes the (cut) opener
    body = lines[1:-1] if closed else lines[1:]
    o_words, o_pieces = _counts(f"{opener}\n{closer}")
    room = max(8, limit - _estimate(o_words, o_pieces) - 2)  # the estimate is subadditive up to rounding
    chars = MAX_CHUNK_CHARS - len(opener) - len(closer) - 2
    fitted: list[str] = []
    for line in body:
        fitted.extend([line] if _fits(line, room, chars) else _cut_words(line, room, chars))
    groups = _join_fitting(fitted, limit, "\n", MAX_CHUNK_CHARS, (o_words, o_pieces, len(opener) + len(closer) + 2))
    return ["\n".join([opener, *group, closer]) for group in groups] or [f"{opener}\n{closer}"]


def _is_rule(row: str) -> bool:
    """A table's header rule (``|---|:--:|``); string code, as a regex here was quadratic on spaces."""
    rest = row.lstrip()
    rest = rest[1:].lstrip() if rest.startswith("|") else rest
    rest = rest[1:] if rest.startswith(":") else rest
    return rest.startswith("--")


def _split_table(table: str, budget: int) -> list[str]:
    rows = table.splitlines()
    header, body = rows[:2], rows[2:]
    if len(rows) < 3 or not _is_rule(rows[1]):
        return [table]
    head = "\n".join(header)
    return ["\n".join([*header, *group])
            for group in _join_fitting(body, budget, "\n", base=(*_counts(head), len(head) + 1))]


def _list_items(block: Block, budget: int) -> tuple[list[str], str]:
    """An oversized list's items, an item too big alone cut at lines, and what joins them."""
    # A tight list stays tight, a loose one (blank lines between items) loose.
    sep = "\n" if "\n".join(block.items) == block.text else "\n\n"
    items: list[str] = []
    for item in block.items:
        items.extend([item] if _fits(item, budget) else _cut(item, budget))
    return items, sep


def _split_text(text: str, budget: int) -> list[str]:
    sentences: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        # A "sentence" with no full stop in 2 MB is cut at lines, then words.
        sentences.extend([sentence] if _fits(sentence, budget) else _cut(sentence, budget))
    parts: list[str] = []
    current = ""
    words = pieces = 0  # _counts(current), kept up to date rather than recounted
    for sentence in sentences:
        s_words, s_pieces = _counts(sentence)
        if current and (_estimate(words, pieces) + _estimate(s_words, s_pieces) > budget
                        or len(current) + 1 + len(sentence) > MAX_CHUNK_CHARS):
            parts.append(current)
            current, words, pieces = "", 0, 0
        current = f"{current} {sentence}".strip()
        words, pieces = words + s_words, pieces + s_pieces
    if current:
        parts.append(current)
    return parts


def pack(section: Section, max_words: int = DEFAULT_MAX_WORDS) -> list[Piece]:
    """Pack a section's blocks into chunks of at most ``max_words`` (prefix included).

    Code may run past the budget, up to MAX_CODE_WORDS; every chunk is within
    MAX_CHUNK_CHARS.
    """
    prefix = _words(" ".join(section.heading_path))
    budget = max(40, max_words - prefix)
    code_limit = max(budget, MAX_CODE_WORDS - prefix)
    units: list[str] = []
    glue: list[str] = []  # what joins each unit to the one before it in a chunk
    for block in section.blocks:
        parts, sep = [block.text], "\n\n"
        if block.kind == "code":
            parts = [block.text] if _fits(block.text, code_limit) else _split_code(block.text, code_limit)
        elif _fits(block.text, budget):
            pass
        elif block.kind == "table":
            parts = []
            for part in _split_table(block.text, budget):  # a giant row or header is cut like prose
                parts.extend([part] if _fits(part, budget) else _cut(part, budget))
        elif block.kind == "list" and block.items:
            # Split between items, packed like paragraphs: an item still shares a chunk with
            # the text that introduces the list, and no line break inside the list is lost.
            parts, sep = _list_items(block, budget)
        else:
            parts = _split_text(block.text, budget)
        units.extend(parts)
        glue.extend(["\n\n"] + [sep] * (len(parts) - 1))
    return [Piece(section.heading_path, section.anchor,
                  "".join((glue[k] if k > i else "") + units[k] for k in range(i, j)))
            for i, j in _ranges(units, budget, glue)]


def split(body: str, title: str, max_words: int = DEFAULT_MAX_WORDS) -> list[Piece]:
    """All chunks of a markdown body, in document order."""
    return [piece for section in sections(body, title) for piece in pack(section, max_words)]
