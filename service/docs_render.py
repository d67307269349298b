"""Public docs as HTML pages: a tiny, safe Markdown renderer (the page lookup is ``docs_lookup``).

Why our own renderer: citation URLs end in ``#<anchor>`` computed by the ingest
splitter, so headings here must get exactly those ids (same block scanner, same
``heading_anchor``: an explicit ``{#id}`` or the de-duplicated slug), and everything else must be escaped. Supported:
headings, paragraphs, nested lists, block quotes, fenced code, tables, and inline
code, bold, italics and links (http, https, mailto and relative only).

"""

from __future__ import annotations

import html
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from ingest.documents import SUFFIXES, Document, doc_url
from ingest.markdown_splitter import Block, heading_anchor, scan_blocks

DOCS_PREFIX = "/docs"
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_LIST_DEPTH = 3  # lists in list items rendered block by block; deeper ones as prose
# Linear-time on any input (doc text is hostile): neither a label nor a target may hold a
# bracket, so no two attempts scan the same text. (With ``[^\]]+`` and ``[^)\s]+``,
# 50 KB of ``[a(`` took 17 s.) Code spans and emphasis are matched with string code below.
_LINK = re.compile(r"\[([^\[\]]+)\]\(([^)\s\[\]]+)(?:\s+\"[^\"]*\")?\)")
_SAFE_SCHEMES = {"", "http", "https", "mailto"}


def page_href(rel_path: str) -> str:
    """Where Docent serves a doc: ``a/b.md`` -> ``/docs/a/b`` (whatever its front matter url)."""
    return doc_url(rel_path, DOCS_PREFIX)


# --- inline -----------------------------------------------------------------------------

def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"  # what re's \w matches in str patterns


def _pair(text: str, mark: str, tag: str, flank: str = "") -> str:
    """``re.sub(r"(?<![\\wF])M(?=\\S)(.+?)(?<=\\S)M(?![\\wF])", r"<tag>\\1</tag>", text)`` for the
    mark M, in linear time; F is ``flank`` and the \\w-lookarounds apply only when it is set.

    The regexes were quadratic: every ``*`` with no closer scanned to the end of the text
    (10 s on 50 KB of `` *a``). Here each mark is looked at once, with a pointer to the
    next mark that can close.
    """
    if mark not in text:
        return text
    size, n = len(mark), len(text)

    def flanked(i: int) -> bool:  # the character at i stops a mark opening after / closing before it
        return bool(flank) and 0 <= i < n and (_is_word(text[i]) or text[i] in flank)

    marks, i = [], text.find(mark)
    while i >= 0:  # overlapping, as the regex tries every position
        marks.append(i)
        i = text.find(mark, i + 1)
    closers = [q for q in marks if not text[q - 1].isspace() and not flanked(q + size)]
    out: list[str] = []
    last = c = 0
    newline = text.find("\n")
    for p in marks:
        if p < last or flanked(p - 1) or p + size >= n or text[p + size].isspace():
            continue
        while c < len(closers) and closers[c] < p + size + 1:  # the content is at least one character
            c += 1
        if c == len(closers):
            break
        while 0 <= newline < p + size:
            newline = text.find("\n", newline + 1)
        q = closers[c]
        if 0 <= newline < q:  # like the regex's ".", the content never spans a line break
            continue
        out += [text[last:p], f"<{tag}>", text[p + size:q], f"</{tag}>"]
        last = q + size
    out.append(text[last:])
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = _pair(escaped, "**", "strong")
    escaped = _pair(escaped, "*", "em", flank="*")
    return _pair(escaped, "_", "em", flank="_")


def _href(target: str, doc_path: str) -> str | None:
    """A safe href: relative ``.md`` links point at the rendered page; other schemes are dropped."""
    try:
        parts = urlsplit(target)
    except ValueError:  # "http://[x" and friends: not a URL, so not a link
        return None
    if parts.scheme.lower() not in _SAFE_SCHEMES:
        return None  # javascript:, data: and friends render as plain text
    if parts.scheme or parts.netloc or not parts.path:
        return target
    if Path(parts.path).suffix.lower() in SUFFIXES and not parts.path.startswith("/"):
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(doc_path), parts.path))
        if not joined.startswith(".."):
            return page_href(joined) + (f"#{parts.fragment}" if parts.fragment else "")
    return target


def _text(raw: str, doc_path: str) -> str:
    """Links and emphasis in text that holds no code span."""
    out, pos = [], 0
    for m in _LINK.finditer(raw):
        out.append(_emphasis(html.escape(raw[pos:m.start()], quote=False)))
        label = _emphasis(html.escape(m.group(1), quote=False))
        href = _href(m.group(2), doc_path)
        out.append(f'<a href="{html.escape(href)}">{label}</a>' if href else label)
        pos = m.end()
    out.append(_emphasis(html.escape(raw[pos:], quote=False)))
    return "".join(out)


def _code_spans(raw: str) -> list[tuple[int, int, int]]:
    """(start, end, fence length) of each code span: as in CommonMark, a run of n backticks up
    to the next run of exactly n (a regex ``(`+)(.+?)\\1`` took 24 s on 10 KB of backticks)."""
    runs: list[tuple[int, int]] = []  # (start, length)
    i = raw.find("`")
    while i >= 0:
        j = i
        while j < len(raw) and raw[j] == "`":
            j += 1
        runs.append((i, j - i))
        i = raw.find("`", j)
    later: dict[int, list[int]] = {}  # run length -> indices of runs of that length, last first
    for k in range(len(runs) - 1, -1, -1):
        later.setdefault(runs[k][1], []).append(k)
    spans: list[tuple[int, int, int]] = []
    k = 0
    newline = raw.find("\n")
    while k < len(runs):
        start, length = runs[k]
        while 0 <= newline < start:
            newline = raw.find("\n", newline + 1)
        same = later[length]
        while same and same[-1] <= k:
            same.pop()
        if same and not 0 <= newline < runs[same[-1]][0]:  # a span never crosses a line break
            close = same.pop()
            spans.append((start, runs[close][0] + length, length))
            k = close + 1
        else:
            k += 1
    return spans


def inline(raw: str, doc_path: str = "") -> str:
    """Escaped inline Markdown: code spans first, so nothing inside them is interpreted."""
    out, pos = [], 0
    for start, end, length in _code_spans(raw):
        out.append(_text(raw[pos:start], doc_path))
        out.append(f"<code>{html.escape(raw[start + length:end - length].strip(), quote=False)}</code>")
        pos = end
    out.append(_text(raw[pos:], doc_path))
    return "".join(out)


# --- blocks -----------------------------------------------------------------------------

def _code(block: str) -> str:
    lines = block.split("\n")
    lang = re.sub(r"[^\w+-]", "", lines[0].strip().lstrip("`~"))[:20]
    closed = len(lines) > 1 and re.match(r"^\s*(`{3,}|~{3,})\s*$", lines[-1])
    body = "\n".join(lines[1:-1] if closed else lines[1:])
    cls = f' class="language-{lang}"' if lang else ""
    return f"<pre><code{cls}>{html.escape(body, quote=False)}</code></pre>"


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def _table(block: str, doc_path: str) -> str:
    rows = [r for r in block.split("\n") if r.strip()]
    is_rule = len(rows) > 1 and all(re.fullmatch(r":?-{1,}:?", c.replace(" ", "")) for c in _cells(rows[1]))
    head, body = (rows[0:1], rows[2:]) if is_rule else ([], rows)
    parts = ['<div class="table"><table>']
    if head:
        parts.append("<thead><tr>" + "".join(f"<th>{inline(c, doc_path)}</th>" for c in _cells(head[0]))
                     + "</tr></thead>")
    parts.append("<tbody>" + "".join("<tr>" + "".join(f"<td>{inline(c, doc_path)}</td>" for c in _cells(r))
                                     + "</tr>" for r in body) + "</tbody></table></div>")
    return "".join(parts)


def _list(lines: list[str], doc_path: str) -> str:
    """Nested lists by indentation; continuation lines join the item above."""
    items: list[tuple[int, bool, list[str]]] = []  # (indent, ordered, text parts)
    for line in lines:
        m = _LIST_ITEM.match(line)
        if m:
            items.append((len(m.group(1).expandtabs(4)), m.group(2)[0].isdigit(), [m.group(3)]))
        elif items:
            items[-1][2].append(line.strip())  # joined once below: repeated "+=" was quadratic
    out: list[str] = []
    stack: list[tuple[int, str]] = []  # open lists: (indent, tag)
    for indent, ordered, parts in items:
        text = " ".join(parts)
        while stack and indent < stack[-1][0]:
            out.append(f"</li></{stack.pop()[1]}>")
        if stack and indent == stack[-1][0]:
            out.append("</li>")
        else:
            tag = "ol" if ordered else "ul"
            stack.append((indent, tag))
            out.append(f"<{tag}>")
        out.append(f"<li>{inline(text, doc_path)}")
    while stack:
        out.append(f"</li></{stack.pop()[1]}>")
    return "".join(out)


def _prose(block: str, doc_path: str) -> str:
    """A text block: runs of list items, quotes and plain paragraphs, in order."""
    out: list[str] = []
    run: list[str] = []
    kind = ""

    def flush() -> None:
        if not run:
            return
        if kind == "list":
            out.append(_list(run, doc_path))
        elif kind == "quote":
            out.append(f"<blockquote><p>{inline(' '.join(r.lstrip('> ').strip() for r in run), doc_path)}"
                       "</p></blockquote>")
        else:
            out.append(f"<p>{inline(' '.join(r.strip() for r in run), doc_path)}</p>")
        run.clear()

    for line in block.split("\n"):
        if _LIST_ITEM.match(line):
            now = "list"
        elif line.lstrip().startswith(">"):
            now = "quote"
        elif kind == "list" and line[:1].isspace():
            now = "list"  # an indented continuation of the item above
        else:
            now = "para"
        if now != kind:
            flush()
            kind = now
        run.append(line)
    flush()
    return "".join(out)


def _item_content(item: str) -> str:
    """A list item's content without its marker, dedented to the item's content column."""
    first, _, rest = item.partition("\n")
    m = _LIST_ITEM.match(first)
    if m is None:
        return item
    column = m.start(3)
    lines = [m.group(3)]
    for line in rest.split("\n") if rest else []:
        lines.append(line[min(column, len(line) - len(line.lstrip(" "))):])
    return "\n".join(lines)


def _list_block(block: Block, doc_path: str, depth: int = 0) -> str:
    """A list; one holding a fence is rendered item by item (the fence as code), the rest as prose lists.

    Only lists with a fence marker are re-scanned, and only ``_LIST_DEPTH`` deep, so the
    work stays a small multiple of the list's size.
    """
    if depth >= _LIST_DEPTH or not block.items or ("```" not in block.text and "~~~" not in block.text):
        return _prose(block.text, doc_path)
    tag = "ol" if block.text.lstrip()[:1].isdigit() else "ul"
    items = []
    for item in block.items:
        parts = []
        for inner in scan_blocks(_item_content(item)):
            if inner.kind == "code":
                parts.append(_code(inner.text))
            elif inner.kind == "table":
                parts.append(_table(inner.text, doc_path))
            elif inner.kind == "list":
                parts.append(_list_block(inner, doc_path, depth + 1))
            else:  # a heading inside an item gets no id: citations never point into a list
                parts.append(_prose(inner.text, doc_path))
        items.append(f"<li>{''.join(parts)}</li>")
    return f"<{tag}>{''.join(items)}</{tag}>"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A page body as HTML, and its headings (level, text, anchor) for a table of contents."""

    html: str
    headings: list[tuple[int, str, str]]


def render_page(doc: Document) -> Rendered:
    """A page's HTML, rendered once per version (cached per path and content hash), not per request."""
    return _rendered(doc.path, doc.doc_hash, doc.body)


@lru_cache(maxsize=128)
def _rendered(doc_path: str, _doc_hash: str, body: str) -> Rendered:
    # The body rides along only to be rendered: a path and hash name one text.
    return render_markdown(body, doc_path)


def render_markdown(body: str, doc_path: str = "") -> Rendered:
    """Markdown to safe HTML; heading ids match the anchors the ingest splitter puts in citation URLs."""
    out: list[str] = []
    headings: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for block in scan_blocks(body):
        if block.kind == "heading":
            anchor = heading_anchor(block, seen)
            headings.append((block.level, block.text, anchor))
            out.append(f'<h{block.level} id="{html.escape(anchor)}">{inline(block.text, doc_path)}</h{block.level}>')
        elif block.kind == "code":
            out.append(_code(block.text))
        elif block.kind == "list":
            out.append(_list_block(block, doc_path))
        elif block.kind == "table":
            out.append(_table(block.text, doc_path))
        else:
            out.append(_prose(block.text, doc_path))
    return Rendered("\n".join(out), headings)
