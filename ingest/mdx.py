"""MDX and Docusaurus: components unwrapped into the Markdown they carry.

Handled, outside fenced code:

- ```` ```mdx-code-block ```` fences are MDX, not code: their content is rendered like the rest;
- ``import``/``export`` statements (to the blank line that ends them) are dropped; an
  imported ``.md``/``.mdx`` partial used as ``<Partial />`` is rendered in place when it
  lies inside the source folder;
- JSX components are unwrapped, their text kept: ``<TabItem label="npm">`` becomes a
  ``**npm**`` label line, ``<Admonition type="tip" title="T">`` a ``**Tip: T**`` label;
  self-closing components without text (``<DocCardList />``) are dropped;
- JSX expressions ``{...}`` are dropped (``{/* comments */}``, ``{props.name}``), except a
  string literal (``{'<'}``) which is its text and a heading's ``{#id}``;
- ``:::note Title`` / ``:::note[Title]`` admonitions (also in ``.md``) become labelled text.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.includes import Includes
from ingest.markup import MAX_TAG_CHARS, Tag, closes, code_span_end, is_fence, label, map_outside_code, strip_tags

_ADMONITION = re.compile(
    r"^(\s*):{3,}([A-Za-z][\w-]{0,40})(?:\[([^\]]{0,200})\]|\{[^}]{0,200}\}|[ \t]+(.{0,200}))?\s*$")
_ADMONITION_END = re.compile(r"^\s*:{3,}\s*$")
_ESM = re.compile(r"^(import|export)[\s{*]")
_PARTIAL = re.compile(r"^import\s+(\w{1,80})\s+from\s+['\"](\.{1,2}/[^'\"]{1,300}\.mdx?)['\"]")
_LITERAL = re.compile(r"\{\s*(?:'([^'{}]{0,200})'|\"([^\"{}]{0,200})\")\s*\}")
_HEADING_ID = re.compile(r"\{#[\w:.-]{1,200}\}")
MAX_PARTIAL_DEPTH = 4


def admonitions(lines: list[str]) -> list[str]:
    """``:::kind Title`` openers as label lines, bare ``:::`` closers as paragraph breaks."""
    out: list[str] = []
    for line in lines:
        if ":::" not in line:
            out.append(line)
        elif m := _ADMONITION.match(line):
            title = m.group(3) or m.group(4) or ""
            out.extend(["", m.group(1) + label(m.group(2), title)])
        elif _ADMONITION_END.match(line):
            out.append("")
        else:
            out.append(line)
    return out


def _unwrap_mdx_blocks(lines: list[str]) -> list[str]:
    """Drop the fence lines of ```` ```mdx-code-block ```` so their content is read as MDX."""
    out: list[str] = []
    fence = ""
    unwrapping = False
    for line in lines:
        if fence:
            if closes(line, fence):
                fence = ""
                if unwrapping:
                    unwrapping = False
                    continue
            out.append(line)
            continue
        marker = is_fence(line)
        if marker:
            fence = marker
            unwrapping = line.strip()[len(marker):].strip().startswith("mdx-code-block")
            if unwrapping:
                continue
        out.append(line)
    return out


def _drop_esm(lines: list[str], partials: dict[str, str]) -> list[str]:
    out: list[str] = []
    in_esm = False
    for line in lines:
        if m := _PARTIAL.match(line):
            partials[m.group(1)] = m.group(2)
        if in_esm or _ESM.match(line):
            in_esm = bool(line.strip())  # an ESM block runs to the blank line that ends it
            continue
        out.append(line)
    return out


def _expressions(text: str) -> str:
    """``text`` without JSX expressions; code spans, string literals and ``{#id}`` kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "`":
            stop = code_span_end(text, i)
            out.append(text[i:stop])
            i = stop
            continue
        if ch != "{" or (i > 0 and text[i - 1] == "\\"):
            out.append(ch)
            i += 1
            continue
        depth, quote, k, limit = 0, "", i, min(n, i + MAX_TAG_CHARS)
        while k < limit:
            c = text[k]
            if quote:
                quote = "" if c == quote else quote
            elif c in "\"'`":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        if k >= limit:
            out.append(ch)
            i += 1
            continue
        expr = text[i:k + 1]
        if _HEADING_ID.fullmatch(expr):
            out.append(expr)
        elif m := _LITERAL.fullmatch(expr):
            out.append(m.group(1) if m.group(1) is not None else m.group(2))
        i = k + 1
    return "".join(out)


def render(text: str, source: Path, includes: Includes, depth: int = 0) -> str:
    """An MDX page's body as plain Markdown; see the module docstring."""
    partials: dict[str, str] = {}
    lines = _unwrap_mdx_blocks(text.split("\n"))
    lines = map_outside_code(lines, lambda run: admonitions(_drop_esm(run, partials)))

    def hook(tag: Tag) -> str | None:
        name = tag.name
        if name == "TabItem":
            return "\n\n" if tag.closing else f"\n\n**{tag.attrs.get('label') or tag.attrs.get('value', '')}**\n\n"
        if name == "Admonition" and not tag.closing:
            return f"\n\n{label(tag.attrs.get('type', 'note'), tag.attrs.get('title', ''))}\n"
        if name in partials and not tag.closing:
            return _partial(partials[name], source, includes, depth)
        if name[0].isupper() or name in ("details", "summary", "p", "div"):
            return "\n\n" if tag.closing or tag.self_closing or name[0].islower() else "\n"
        return None

    def inline(run: list[str]) -> list[str]:
        return strip_tags(_expressions("\n".join(run)), jsx=True, hook=hook).split("\n") if run else run

    return "\n".join(map_outside_code(lines, inline))


def _partial(target: str, source: Path, includes: Includes, depth: int) -> str:
    if depth >= MAX_PARTIAL_DEPTH:
        includes.warnings.append(f"partial {target!r} nests too deep; dropped")
        return ""
    found = includes.find(source, target)
    if found is None:
        includes.warnings.append(f"partial {target!r} is missing or outside the source folder; dropped")
        return ""
    try:
        body = found.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        includes.warnings.append(f"partial {target!r} is unreadable; dropped")
        return ""
    includes.files[str(found)] = body
    if body.startswith("---"):
        end = body.find("\n---", 3)
        body = body[end + 4:] if end > 0 else body
    return "\n\n" + render(body, found, includes, depth + 1) + "\n\n"
