"""Headings: level, text and explicit id, in string code linear in the line.

Document text is hostile input (the old heading regex was cubic on a run of spaces), so
nothing here uses a pattern that can backtrack.
"""

from __future__ import annotations

import re

MAX_HEADING_CHARS = 200  # a heading is a label; a longer one is cut (it prefixes every chunk)


def slugify(heading: str) -> str:
    """GitHub-style anchor: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_~\[\]()]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"\s", "-", text)


def parse_heading(line: str) -> tuple[int, str] | None:
    """An ATX heading's (level, text), or None: ``## Setup ##`` -> ``(2, "Setup")``.

    String code, linear in the line. As in CommonMark, 1-6 ``#`` then whitespace (or
    nothing), and a closing run of ``#`` is dropped only when whitespace precedes it
    (``# C#`` is "C#"). Unlike CommonMark, the ``#`` must start the line (an indented
    ``#`` stays text, as it always has here). A trailing attribute list with an id
    (``{ #setup }``) is not part of the text; see ``parse_heading_id``.
    """
    parsed = parse_heading_id(line)
    return None if parsed is None else (parsed[0], parsed[1])


def parse_heading_id(line: str) -> tuple[int, str, str] | None:
    """An ATX heading's (level, text, explicit id): ``## Setup { #setup .x }`` -> ``(2, "Setup", "setup")``.

    The id is ``""`` when the heading has none. The attribute list (MkDocs attr_list,
    Pandoc, Docusaurus) comes after any closing ``#`` run, as in ``## Setup ## {#setup}``.
    """
    level = len(line) - len(line.lstrip("#"))
    if not 1 <= level <= 6:
        return None
    rest = line[level:]
    if rest and not rest[0].isspace():
        return None  # "#hashtag", "#5"
    text, anchor = split_attributes(rest.strip())
    closed = text.rstrip("#")
    if not closed or closed[-1].isspace():
        text = closed.rstrip()
    return level, text, anchor


def heading_text_id(content: str, *, atx: bool) -> tuple[str, str]:
    """A parsed heading's (text, explicit id) from the content markdown-it gives it.

    markdown-it has already dropped an ATX heading's closing ``#`` run when it ends the
    line; one before an attribute list (``## Setup ## {#setup}``) is dropped here, as
    ``parse_heading_id`` does. A setext heading's lines are joined by spaces.
    """
    text, anchor = split_attributes(content.replace("\n", " ").strip())
    if anchor and atx:
        closed = text.rstrip("#")
        if not closed or closed[-1].isspace():
            text = closed.rstrip()
    return text, anchor


def _id_char(ch: str) -> bool:
    return ch.isalnum() or ch in "-_:."


def split_attributes(text: str) -> tuple[str, str]:
    """Heading text without a trailing ``{#id .class key=value}`` list, and the id (``""`` if none).

    Only a well-formed list at the very end that holds an ``#id`` is taken: ``{``, an
    optional ``:`` (kramdown / attr_list), whitespace-separated tokens each ``#id``,
    ``.class`` or ``key=value``, then ``}``; the ``{`` starts the text or follows
    whitespace. Anything else stays text (``The {name} placeholder``, an unclosed
    ``{ #x``). Ids are limited to letters, digits and ``-_:.`` (they go into URLs and
    ``id`` attributes; ``=`` too, in ids only) and to MAX_HEADING_CHARS; with two ids the first wins. Linear:
    one ``rfind`` and a pass over the tokens.
    """
    if not text.endswith("}"):
        return text, ""
    start = text.rfind("{")
    if start < 0 or (start > 0 and not text[start - 1].isspace()):
        return text, ""
    inner = text[start + 1:-1]
    if inner.startswith(":"):
        inner = inner[1:]
    if "}" in inner:
        return text, ""
    anchor = ""
    for token in inner.split():
        if token[0] == "#":
            name = token[1:]
            # "=" too, for PDF page anchors (``#page=12``, which PDF viewers open at that page).
            if not name or len(name) > MAX_HEADING_CHARS or not all(_id_char(ch) or ch == "=" for ch in name):
                return text, ""
            anchor = anchor or name
        elif token[0] == ".":
            if len(token) == 1 or "=" in token:
                return text, ""
        else:
            key, eq, _value = token.partition("=")
            if not key or not eq or not all(_id_char(ch) for ch in key):
                return text, ""
    if not anchor:
        return text, ""
    return text[:start].rstrip(), anchor
