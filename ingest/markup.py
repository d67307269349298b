"""Shared pieces of the Markdown-dialect parsers: code fences, tags, labels.

The dialect parsers (``ingest/mkdocs.py``, ``ingest/mdx.py``) rewrite site markup into the
plain Markdown the splitter reads. They must agree with the splitter on what is code
(a fence opens on a line whose first non-blank characters are three or more backticks
or tildes), so code is never rewritten, and they must stay linear on hostile text: tags
are scanned with string code and a bounded look-ahead, never with a backtracking regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
MAX_TAG_CHARS = 4000  # a "tag" longer than this is text that happens to hold a "<"

# Raw HTML elements whose tags are dropped and whose text is kept. Anything else in angle
# brackets (``<username>``, ``<server_ip>``) is text a writer meant.
_TAG_NAMES = ("a abbr b big blockquote br center cite code dd del details dfn div dl dt em figcaption figure font "
              "h1 h2 h3 h4 h5 h6 hr i iframe img ins kbd li mark ol p picture pre q s samp section small source "
              "span strike strong sub summary sup table tbody td tfoot th thead tr tt u ul var video wbr")
HTML_TAGS = frozenset(_TAG_NAMES.split(" "))
_DROP_CONTENT = frozenset({"script", "style", "svg", "noscript", "template"})


@dataclass(frozen=True, slots=True)
class Tag:
    """One parsed tag: its name, whether it closes or self-closes, and its string attributes."""

    name: str
    closing: bool
    self_closing: bool
    attrs: dict[str, str]


def is_fence(line: str) -> str | None:
    """The fence marker that ``line`` opens with (```` ``` ```` / ``~~~``...), or None."""
    m = FENCE.match(line)
    return m.group(1) if m else None


def closes(line: str, marker: str) -> bool:
    """Whether ``line`` closes a fence opened with ``marker`` (the splitter's own rule)."""
    return line.strip().startswith(marker)


def map_outside_code(lines: list[str], fn: Callable[[list[str]], list[str]]) -> list[str]:
    """Apply ``fn`` to each run of lines outside fenced code; fenced code is kept verbatim."""
    out: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(lines):
        marker = is_fence(lines[i])
        if marker is None:
            run.append(lines[i])
            i += 1
            continue
        out.extend(fn(run))
        run = []
        end = i + 1
        while end < len(lines) and not closes(lines[end], marker):
            end += 1
        out.extend(lines[i:end + 1])
        i = end + 1
    out.extend(fn(run))
    return out


def code_span_end(text: str, start: int) -> int:
    """Where the code span opening at ``text[start] == "`"`` ends (after its closer); for a
    backtick run that opens no span, the end of the run.

    As in CommonMark, a run of n backticks is closed only by a run of exactly n, and here
    not across a blank line (a span stays inside its paragraph). Linear per span.
    """
    n = len(text)
    run = start
    while run < n and text[run] == "`":
        run += 1
    width = run - start
    limit = text.find("\n\n", run)
    limit = n if limit < 0 else limit
    pos = run
    while True:
        found = text.find("`" * width, pos, limit)
        if found < 0:
            return run
        end = found + width
        if end < n and text[end] == "`":  # part of a longer run: skip the whole run
            while end < n and text[end] == "`":
                end += 1
            pos = end
            continue
        return end


def label(kind: str, title: str = "") -> str:
    """An admonition's label as text: ``Note``, ``Warning: Title``."""
    kind = {"warn": "warning", "info": "note"}.get(kind.lower(), kind)  # Zulip's and Docusaurus's aliases
    name = kind.replace("_", " ").replace("-", " ").strip().capitalize() or "Note"
    title = title.strip().strip("\"'").strip()
    return f"**{name}: {title}**" if title and title.lower() != name.lower() else f"**{name}:**"


def _parse_tag(text: str, start: int, jsx: bool) -> tuple[Tag, int] | None:
    """The tag starting at ``text[start] == "<"`` and the offset after it, or None if it is no tag."""
    i = start + 1
    closing = i < len(text) and text[i] == "/"
    i += closing
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] in "-_.:"):
        j += 1
    name = text[i:j]
    if not name or not name[0].isalpha():
        return None
    # A capitalised name is a JSX component only in MDX; in Markdown ``List<String>`` is text.
    if not (name.lower() in HTML_TAGS or name.lower() in _DROP_CONTENT or (name[0].isupper() and jsx)):
        return None
    attrs: dict[str, str] = {}
    depth, quote, k, limit = 0, "", j, min(len(text), start + MAX_TAG_CHARS)
    attr_start = j
    while k < limit:
        ch = text[k]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and depth == 0:
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == ">" and depth == 0:
            break
        elif ch == "<" and depth == 0 and not jsx:
            return None  # "<a <b": the first was text
        k += 1
    if k >= limit:
        return None
    inner = text[attr_start:k]
    self_closing = inner.rstrip().endswith("/")
    for m in re.finditer(r"([\w:-]{1,40})\s{0,4}=\s{0,4}(?:\"([^\"]{0,2000})\"|'([^']{0,2000})')", inner):
        attrs[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3) or ""
    return Tag(name, closing, self_closing, attrs), k + 1


def _icon(tag: Tag) -> str:
    """An icon tag's name from its class (``zulip-icon zulip-icon-star`` -> ``star``), so "Click
    the (icon) button" keeps its object."""
    for cls in tag.attrs.get("class", "").split():
        for prefix in ("zulip-icon-", "fa-"):
            if cls.startswith(prefix) and len(cls) > len(prefix):
                return cls[len(prefix):].replace("-", " ")
    return ""


TagHook = Callable[[Tag], str | None]


def strip_tags(text: str, *, jsx: bool = False, hook: TagHook | None = None) -> str:
    """``text`` without HTML tags and JSX component tags, keeping the text between them.

    Code spans are copied verbatim. ``hook`` may replace a tag with text (a tab's label);
    otherwise an icon becomes its name, ``<br>`` a line break, an image its alt text, and
    ``<script>``/``<style>`` go with their content. HTML comments are dropped.
    """
    out: list[str] = []
    i, n = 0, len(text)
    skipping = ""
    while i < n:
        ch = text[i]
        if ch == "`" and not skipping:
            stop = code_span_end(text, i)
            out.append(text[i:stop])
            i = stop
            continue
        if ch != "<":
            if not skipping:
                out.append(ch)
            i += 1
            continue
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            i = n if end < 0 else end + 3
            continue
        parsed = _parse_tag(text, i, jsx)
        if parsed is None:
            if not skipping:
                out.append(ch)
            i += 1
            continue
        tag, i = parsed
        low = tag.name.lower()
        if skipping:
            if tag.closing and low == skipping:
                skipping = ""
            continue
        if low in _DROP_CONTENT and not tag.closing and not tag.self_closing:
            skipping = low
            continue
        replaced = hook(tag) if hook else None
        if replaced is not None:
            out.append(replaced)
        elif low == "br":
            out.append("\n")
        elif low == "img":
            out.append(tag.attrs.get("alt", ""))
        elif low == "i" and not tag.closing and (icon := _icon(tag)):
            out.append(icon)
    return "".join(out)


_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def squeeze_blank_lines(text: str) -> str:
    """Runs of blank lines as one (dropped markup leaves them behind)."""
    return _BLANKS.sub("\n\n", text)
