"""The top-level blocks of a Markdown body, found by markdown-it-py (CommonMark + tables).

A hand-written line scanner gets the edge cases of Markdown wrong one by one (setext
headings, indented code, lists, a fence inside a list item, tables without a leading
``|``) and each fix adds a pattern to a scanner that must stay linear on hostile text.
markdown-it-py is a maintained CommonMark parser whose block level is a line-by-line
state machine: it decides *where* blocks are; this module reads only the top-level
tokens and slices the original source lines by each token's line map, so a chunk
holds the author's own Markdown (what the model reads and citations quote), never a
re-rendering of it. Inline parsing is switched off: only block boundaries are needed,
and the inline rules are where Markdown parsers are slow on hostile text.

Nesting is capped (``MAX_NESTING``): deeper content is not tokenized, and the lines of a
block that reaches the cap still belong to its top-level block, so no text is lost.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from ingest.front_matter import read_metadata
from ingest.headings import MAX_HEADING_CHARS, heading_text_id

# markdown-it's CommonMark preset default. No document nests deeper than ~8; past the cap
# the parser stops descending, so 100,000 nested "- " or ">" cost what a flat line costs.
MAX_NESTING = 20


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # heading | code | table | list | text
    text: str
    level: int = 0
    anchor: str = ""  # a heading's explicit id (``## Setup {#setup}``), if it has one
    items: tuple[str, ...] = ()  # a list's top-level items, in order: where it may be split


@cache
def _parser(front_matter: bool) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table")
    if front_matter:
        md.use(front_matter_plugin)
    # Block structure only: inline tokens keep their raw content, which is all we read.
    md.disable(["inline", "text_join"])
    return md


def _is_metadata(inner: str) -> bool:
    """Whether a leading ``---`` block is front matter by the reader's own rule (a YAML mapping).

    A body opening with a thematic break (``---``, text, ``---``) is not front matter and
    keeps its text; ``ingest/front_matter.py`` decides, so both agree on what metadata is.
    """
    return bool(read_metadata(f"---\n{inner}\n---\n", "markdown").fields)


def _tokens(source: str) -> list[Token]:
    tokens = _parser(True).parse(source)
    if tokens and tokens[0].type == "front_matter":
        if _is_metadata(tokens[0].content):
            return tokens[1:]
        return _parser(False).parse(source)
    return tokens


def _trim(lines: list[str]) -> str:
    """Lines without the blank ones around them; indentation inside is the author's."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(line.rstrip() for line in lines[start:end])


def _fenced(content: str) -> str:
    """An indented code block as a fence (the packer and /docs read fences), longer than any run inside."""
    longest = max((len(s) - len(s.lstrip("`")) for s in (line.lstrip(" ") for line in content.split("\n"))),
                  default=0)
    marker = "`" * max(3, longest + 1)
    return f"{marker}\n{content.rstrip()}\n{marker}"


def _heading(opening: Token, inline: Token) -> Block:
    text, anchor = heading_text_id(inline.content, atx=opening.markup.startswith("#"))
    return Block("heading", text[:MAX_HEADING_CHARS].rstrip(), int(opening.tag[1:]), anchor)


def _list(lines: list[str], start: int, end: int, firsts: list[int]) -> Block:
    """A list block; its items run from one item's first line to the next one's."""
    bounds = [*firsts, end]
    items = tuple(_trim(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    return Block("list", _trim(lines[start:end]), items=tuple(item for item in items if item))


def scan_blocks(body: str) -> list[Block]:
    """The body's top-level blocks in order: headings, code, tables, lists and text (the rest).

    Text is sliced from the body's lines; an indented code block comes back fenced.
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Leading blank lines are dropped so that a stray front matter block opens line 0,
    # where the plugin (like the reader, which skips them) looks for it.
    skip = 0
    while skip < len(lines) and not lines[skip].strip():
        skip += 1
    lines = lines[skip:]
    tokens = _tokens("\n".join(lines))
    blocks: list[Block] = []
    open_list: tuple[int, int, list[int]] | None = None  # (first line, end, items' first lines)
    for i, token in enumerate(tokens):
        if open_list is not None:
            if token.level == 1 and token.type == "list_item_open" and token.map:
                open_list[2].append(token.map[0])
            elif token.level == 0 and token.nesting < 0:  # the list's own close
                blocks.append(_list(lines, *open_list))
                open_list = None
            continue
        if token.level != 0 or token.nesting < 0 or token.map is None:
            continue
        start, end = token.map
        if token.type == "heading_open":
            blocks.append(_heading(token, tokens[i + 1]))
        elif token.type == "code_block":
            blocks.append(Block("code", _fenced(token.content)))
        elif token.type == "fence":
            blocks.append(Block("code", _trim(lines[start:end])))
        elif token.type == "table_open":
            blocks.append(Block("table", _trim(lines[start:end])))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            open_list = (start, end, [])
        else:  # paragraph, blockquote, html_block, hr
            blocks.append(Block("text", _trim(lines[start:end]).strip()))
    if open_list is not None:
        blocks.append(_list(lines, *open_list))
    return [b for b in blocks if b.text]


def without_indented_code(body: str) -> str:
    """The body with its top-level indented code blocks dedented into plain text.

    MDX has no indented code (its parser reads indentation as nothing), but unwrapping a
    component (``<TabItem>`` ... ``</TabItem>``) leaves its children indented, which
    CommonMark would read as code: prose fenced as code in chunks and on /docs.
    """
    lines = body.split("\n")
    spans = [t.map for t in _parser(False).parse(body) if t.type == "code_block" and t.level == 0 and t.map]
    if not spans:
        return body
    for start, end in spans:
        lines[start:end] = textwrap.dedent("\n".join(lines[start:end])).split("\n")
    return "\n".join(lines)
