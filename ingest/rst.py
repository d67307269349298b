"""reStructuredText and Sphinx pages through docutils, rendered as the splitter's Markdown.

docutils parses the page (with permissive handlers for Sphinx's directives and roles,
``ingest/rst_directives.py``); the doctree is then written out as Markdown: sections as
headings anchored by their section ids (``## Application Context {#application-context}``,
as Sphinx's HTML anchors them), admonitions as labelled text (``**Note:** ...``), literal and
``code-block`` blocks as fences with their language, lists, definition and field lists,
and grid/simple tables as pipe tables. Comments, targets, substitution definitions and
docutils' own error messages are dropped. docutils never raises here (``halt_level`` 5):
markup it cannot read stays as text.
"""

from __future__ import annotations

import io
import re
from typing import Any

from docutils import nodes
from docutils.core import publish_doctree

from ingest import rst_directives
from ingest.formats import Parsed, Source

_ADMONITIONS = {"note", "warning", "tip", "important", "caution", "danger", "error", "hint", "attention",
                "seealso"}
_DROP = (nodes.comment, nodes.target, nodes.substitution_definition, nodes.system_message, nodes.raw,
         nodes.pending, nodes.footnote_reference, nodes.citation_reference, nodes.transition)


_SPACE = re.compile(r"\s+")


def _ticks(text: str) -> str:
    run = 1
    while "`" * run in text:
        run += 1
    fence = "`" * run
    return f"{fence} {text} {fence}" if text.startswith("`") or text.endswith("`") else f"{fence}{text}{fence}"


def inline(node: nodes.Node) -> str:
    """A node's inline content as one line of Markdown."""
    if isinstance(node, nodes.Text):
        return _SPACE.sub(" ", str(node))
    if isinstance(node, _DROP):
        return ""
    if isinstance(node, nodes.literal):
        return _ticks(node.astext())
    if isinstance(node, nodes.title_reference):  # the default role: an object name in Flask's docs
        return _ticks(rst_directives.shorten(node.astext()))
    if isinstance(node, nodes.strong):
        return f"**{_children(node)}**"
    if isinstance(node, nodes.emphasis):
        return f"*{_children(node)}*"
    if isinstance(node, nodes.image):
        return str(node.get("alt", ""))
    if isinstance(node, nodes.Element):
        return _children(node)
    return str(node.astext())


def _children(node: nodes.Element) -> str:
    return _SPACE.sub(" ", "".join(inline(child) for child in node.children)).strip()


def _guard(text: str) -> str:
    """Text that the splitter would take for a heading, table or fence is escaped."""
    return "\\" + text if text[:1] in "#|" or text.startswith(("```", "~~~")) else text


def _indent(blocks: list[str], first: str, rest: str) -> str:
    text = "\n\n".join(blocks)
    lines = text.split("\n")
    return "\n".join([first + lines[0], *(rest + line if line else line for line in lines[1:])])


def _table(node: nodes.table) -> str:
    rows: list[list[str]] = []
    head = 0
    for group in node.findall(nodes.tgroup):
        for part in group.children:
            if isinstance(part, (nodes.thead, nodes.tbody)):
                for row in part.findall(nodes.row):
                    cells = [" ".join(" ".join(blocks(c, 6)).split()).replace("|", "\\|") for c in row.children]
                    rows.append(cells)
                    head += isinstance(part, nodes.thead)
        break
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    header, body = (rows[:1], rows[1:]) if head else ([[""] * width], rows)
    lines = ["| " + " | ".join(r) + " |" for r in header]
    lines.append("|" + "---|" * width)
    lines += ["| " + " | ".join(r) + " |" for r in body]
    title = next((inline(t) for t in node.children if isinstance(t, nodes.title)), "")
    return (f"**{title}**\n\n" if title else "") + "\n".join(lines)


def _labelled(node: nodes.Element, name: str, level: int) -> list[str]:
    body = [b for child in node.children if not isinstance(child, nodes.title) for b in blocks(child, level)]
    label = f"**{name}:**"
    if body and not body[0].startswith(("```", "- ", "1. ", "|", "**")):
        return [f"{label} {body[0]}", *body[1:]]
    return [label, *body]


def blocks(node: nodes.Node, level: int) -> list[str]:
    """A node as Markdown blocks; ``level`` is the heading level its sections get."""
    if isinstance(node, _DROP):
        return []
    if isinstance(node, nodes.section):
        title = next((c for c in node.children if isinstance(c, nodes.title)), None)
        ids = list(node.get("ids", []))
        slug = nodes.make_id(title.astext()) if title else ""
        anchor = slug if slug in ids else (ids[0] if ids else "")
        suffix = f" {{#{anchor}}}" if anchor else ""
        out: list[str] = [f"{'#' * min(level, 6)} {inline(title) if title else ''}{suffix}"]
        for child in node.children:
            if child is not title:
                out.extend(blocks(child, level + 1))
        return out
    if isinstance(node, nodes.paragraph):
        text = inline(node)
        return [_guard(text)] if text else []
    if isinstance(node, (nodes.literal_block, nodes.doctest_block)):
        classes = [c for c in node.get("classes", []) if c not in ("code", "literal-block")]
        language = str(node.get("language") or (classes[0] if classes else ""))
        code = node.astext().rstrip("\n")
        fence = "```" if "```" not in code else "````"
        return [f"{fence}{language}\n{code}\n{fence}"]
    if isinstance(node, (nodes.bullet_list, nodes.enumerated_list)):
        marker = "- " if isinstance(node, nodes.bullet_list) else "1. "
        return ["\n".join(_indent(blocks(item, level) or [""], marker, " " * len(marker))
                          for item in node.children if isinstance(item, nodes.list_item))]
    if isinstance(node, nodes.definition_list):
        out = []
        for item in node.children:
            term = next((inline(c) for c in item.children if isinstance(c, nodes.term)), "")
            body = [b for c in item.children if isinstance(c, nodes.definition) for b in blocks(c, level)]
            out.append(_indent(body, f"**{term}**: ", "") if body else f"**{term}**")
        return out
    if isinstance(node, nodes.field_list):
        out = []
        for field in node.children:
            name = next((inline(c) for c in field.children if isinstance(c, nodes.field_name)), "")
            body = [b for c in field.children if isinstance(c, nodes.field_body) for b in blocks(c, level)]
            out.append(_indent(body or [""], f"**{name}:** ", ""))
        return out
    if isinstance(node, nodes.table):
        table = _table(node)
        return [table] if table else []
    if isinstance(node, nodes.Admonition):
        name = node.get("docent_label") or ""
        if not name:
            title = next((c for c in node.children if isinstance(c, nodes.title)), None)
            kind = node.tagname if node.tagname in _ADMONITIONS else ""
            name = inline(title) if title else kind.replace("seealso", "see also").capitalize()
        return _labelled(node, name or "Note", level)
    if isinstance(node, (nodes.title, nodes.rubric, nodes.subtitle)):
        return [f"**{inline(node)}**"]
    if isinstance(node, nodes.line_block):
        return ["\n".join(inline(line) for line in node.findall(nodes.line))]
    if isinstance(node, nodes.Text):
        text = " ".join(str(node).split())
        return [_guard(text)] if text else []
    if isinstance(node, nodes.TextElement):  # inline-only elements (caption, attribution, term)
        text = inline(node)
        return [_guard(text)] if text else []
    if isinstance(node, nodes.Element):
        return [b for child in node.children for b in blocks(child, level)]
    return []


def parse_rst(src: Source) -> Parsed:
    """A reStructuredText page as Markdown, with its first section title as the title."""
    rst_directives.register(src.text)
    warnings: list[str] = []
    included: dict[str, str] = {}  # path below the root -> text, filled by the include directives
    settings: dict[str, Any] = {
        "report_level": 5, "halt_level": 5, "warning_stream": io.StringIO(), "file_insertion_enabled": False,
        "raw_enabled": False, "doctitle_xform": False, "sectsubtitle_xform": False, "syntax_highlight": "none",
        "_disable_config": True, "docent_root": str(src.root), "docent_source": str(src.path),
        "docent_warnings": warnings, "docent_included": included, "input_encoding": "unicode",
    }
    try:
        doctree = publish_doctree(src.text, source_path=str(src.path), settings_overrides=settings)
    except Exception as exc:  # noqa: BLE001  # docutils raises many types on malformed input; a skip, not a crash
        return Parsed(skip=f"reStructuredText does not parse ({type(exc).__name__}: {str(exc)[:120]})")
    first = next(iter(doctree.findall(nodes.section)), None)
    title = ""
    if first is not None and first.children and isinstance(first.children[0], nodes.title):
        title = first.children[0].astext().strip()
    body = "\n\n".join(b for b in blocks(doctree, 1) if b.strip())
    # Included files count in the page's hash and are fragments, not pages (as Markdown includes).
    return Parsed(body, title, tuple(warnings), tuple(included[k] for k in sorted(included)),
                  included=tuple(sorted(included)))
