"""The check for markup plumbing left in chunk text: the bench's and the tests' one measure.

Plumbing is site-generator syntax a reader never sees on the rendered page: ESM
``import``/``export`` lines, JSX component tags, ``:::``/``!!!``/``///`` admonition
markers, ``=== "Tab"`` markers, include macros (``{!x.md!}``, ``{* x.py *}``, ``--8<--``),
Zulip macros, Jinja tags, reStructuredText directives and roles, raw HTML tags, HTML
comments and ``{#id}`` heading suffixes. Fenced code and inline code spans are left out:
a page that documents the syntax shows it there on purpose. Every pattern is linear.
"""

from __future__ import annotations

import re

from ingest.markup import HTML_TAGS, closes, code_span_end, is_fence

_LINE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("esm", re.compile(r"^\s{0,3}(?:import\s[\w{*][^\n]{0,300}\sfrom\s['\"]|import\s['\"]|export\s"
                       r"(?:const|function|default|let|\{))")),
    ("admonition", re.compile(r"^\s*(?::{3,}|!!!\s|\?\?\?\+?\s|/{3,}(?:\s|$)|===\s{1,8}\")")),
    ("rst directive", re.compile(r"^\s*\.\.\s{1,8}[\w:.-]{1,60}::")),
)
_INLINE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("include", re.compile(r"\{!>?\s{0,4}[^\s!{}][^!{}]{0,300}!\}|\{\*\s[^*{}]{1,300}\*\}|-{1,2}8<-{1,2}")),
    ("zulip macro", re.compile(r"\{(?:start_tabs|end_tabs|tab\||settings_tab\||relative\|)")),
    ("jinja", re.compile(r"\{%[^%]{0,300}%\}|\{\{\s{0,4}[\w.]{1,80}\s{0,4}\}\}")),
    ("heading id", re.compile(r"\{\s{0,4}#[\w:.=-]{1,200}(?:\s[^{}\n]{0,200})?\}")),
    ("jsx expression", re.compile(r"\{/\*")),
    ("html comment", re.compile(r"<!--")),
)
_ROLE = re.compile(r"(?<![\w`]):[\w:+.-]{1,40}:`")  # looked for before code spans are blanked
_TAG = re.compile(r"</?([A-Za-z][\w.-]{0,40})(?=[\s/>])[^<>\n]{0,500}>")


def _strip_code_spans(line: str) -> str:
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i] != "`":
            j = line.find("`", i)
            j = n if j < 0 else j
            out.append(line[i:j])
            i = j
            continue
        end = code_span_end(line, i)
        closed = end > i and line[end - 1] == "`" and line[i:end].strip("`") != ""
        out.append(" " if closed else line[i:end])
        i = end
    return "".join(out)


def prose_lines(text: str) -> list[str]:
    """``text``'s lines outside fenced code."""
    out: list[str] = []
    fence = ""
    for line in text.split("\n"):
        if fence:
            fence = "" if closes(line, fence) else fence
            continue
        marker = is_fence(line)
        if marker:
            fence = marker
            continue
        out.append(line)
    return out


def plumbing(text: str) -> list[str]:
    """Each piece of markup plumbing in ``text``, as ``"kind: snippet"`` (empty: clean)."""
    found: list[str] = []
    for raw in prose_lines(text):
        line = _strip_code_spans(raw)
        if role := _ROLE.search(raw):
            found.append(f"rst role: {role.group()[:80]}")
        for kind, rule in _LINE_RULES:
            if rule.match(line):
                found.append(f"{kind}: {line.strip()[:80]}")
        for kind, rule in _INLINE_RULES:
            if m := rule.search(line):
                found.append(f"{kind}: {m.group()[:80]}")
        for m in _TAG.finditer(line):
            name, tag = m.group(1), m.group()
            # A bare <String>, <T> or <A> in prose is a type or a label, not markup: HTML tags
            # count in lower case, components only with attributes, self-closing or closing.
            component = name[0].isupper() and ("=" in tag or tag.startswith("</") or tag.endswith("/>"))
            if name in HTML_TAGS or component:
                found.append(f"tag: {m.group()[:80]}")
                break
    return found
