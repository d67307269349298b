"""MkDocs (Material, pymdownx) and Zulip Markdown: site markup rewritten as labelled text.

Handled, outside fenced code:

- admonitions ``!!! note "Title"``, collapsible ``??? note`` / ``???+ note``, with their
  indented body; content tabs ``=== "Tab"``, with their indented body;
- pymdownx blocks ``/// note | Title`` ... ``///`` and nested ``//// tab | Python 3.10+``;
- mkdocstrings stubs ``::: package.Object`` (and their indented options) as the object name;
- Zulip's ``{start_tabs}``/``{end_tabs}`` (dropped), ``{tab|desktop-web}`` (the tab's label),
  ``{settings_tab|notifications}`` and ``{relative|stream|all}`` (a "Go to ..." step);
- Jinja: ``{% ... %}`` lines dropped, ``{{ name }}`` as its words.

Each container becomes a bold label line (``**Tip:**``, ``**Python 3.10+**``) followed by
its body, dedented. Includes are resolved before this (``ingest/includes.py``).
"""

from __future__ import annotations

import re

from ingest.markup import closes, is_fence, label

_ADMONITION = re.compile(
    r"^(\s*)(!!!|\?\?\?\+?)\s{1,8}([\w-]{1,40})(?:\s{1,8}[\w -]{0,80})?\s*(?:\"([^\"]{0,200})\")?\s*$")
_TAB = re.compile(r"^(\s*)===\+?\s{1,8}\"([^\"]{0,200})\"\s*$")
_BLOCK = re.compile(r"^(/{3,})\s{0,8}([\w-]{1,40})\s{0,8}(?:\|\s{0,8}(.{0,200}))?$")
_BLOCK_END = re.compile(r"^(/{3,})\s*$")
_MKDOCSTRINGS = re.compile(r"^:::\s{1,8}([\w.]{1,200}\.[\w]{1,100})\s*$")
_ZULIP = re.compile(r"^\s{0,12}\{(start_tabs|end_tabs|tab\|([\w-]{1,60})|settings_tab\|([\w-]{1,60})"
                    r"|relative\|([\w-]{1,40})\|([\w-]{1,60}))\}\s*$")
_JINJA_LINE = re.compile(r"^\s*\{%[^%]{0,500}%\}\s*$")
_JINJA_VAR = re.compile(r"\{\{\s{0,8}([\w.]{1,80})\s{0,8}\}\}")
_JINJA_ANY = re.compile(r"\{%[^%]{0,500}%\}|\{\{[^{}]{0,500}\}\}")

# Zulip's tab labels (zerver/lib/markdown/tabbed_sections.py); unknown ids are title-cased.
TAB_LABELS = {
    "desktop-web": "Desktop/Web", "desktop": "Desktop", "web": "Web", "mobile": "Mobile", "ios": "iOS",
    "android": "Android", "mac": "macOS", "windows": "Windows", "linux": "Linux", "cloud": "Zulip Cloud",
    "zulip-cloud": "Zulip Cloud", "self-hosting": "Self-hosting", "self-hosted": "Self-hosted",
    "via-markdown": "Via Markdown", "via-compose-box-buttons": "Via compose box buttons",
    "all-versions": "All versions", "v8": "Zulip 8.0+", "v9": "Zulip 9.0+", "instructions-for-all-platforms":
    "Instructions for all platforms", "chrome": "Chrome", "firefox": "Firefox", "logged-in": "Logged in",
    "logged-out": "Logged out",
}
_PERSONAL_TABS = {"profile", "account-and-privacy", "preferences", "notifications", "your-bots",
                  "alert-words", "uploaded-files", "muted-users"}


def _words(ident: str) -> str:
    return ident.replace("_", " ").replace("-", " ").replace(".", " ").strip()


def _zulip(m: re.Match[str]) -> str | None:
    """A Zulip macro line as text (None: drop the line)."""
    if m.group(2):
        return f"**{TAB_LABELS.get(m.group(2), _words(m.group(2)).capitalize())}**"
    if m.group(3):
        tab = m.group(3)
        where = "Personal settings" if tab in _PERSONAL_TABS else "Organization settings"
        return f"1. Go to **{where}**, then **{_words(tab).capitalize()}**."
    if m.group(4):
        return f"1. Go to **{_words(m.group(5)).capitalize()}** ({m.group(4)})."
    return None


def _jinja(m: re.Match[str]) -> str:
    """``{{ support_email }}`` as "support email"; any other template tag as nothing."""
    var = _JINJA_VAR.fullmatch(m.group())
    return _words(var.group(1)) if var else ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def render(text: str) -> str:
    """MkDocs/pymdownx/Zulip markup in ``text`` rewritten as labelled Markdown; code untouched."""
    lines = text.replace("\t", "    ").split("\n")
    out: list[str] = []
    bodies: list[int] = []  # body indents of the open indented containers
    blocks: list[int] = []  # slash counts of the open /// blocks
    fence = ""
    skip_indent = -1  # the indented options block under a mkdocstrings stub
    after_label = False
    for line in lines:
        stripped = line.strip()
        # Close indented containers whose body this line leaves (blank lines stay inside).
        if stripped and not fence:
            while bodies and _indent(line) < bodies[-1]:
                bodies.pop()
        if skip_indent >= 0:
            if not stripped or _indent(line) > skip_indent:
                continue
            skip_indent = -1
        cut = min(bodies[-1] if bodies else 0, _indent(line))
        line = line[cut:]
        if fence:
            out.append(line)
            if closes(line, fence):
                fence = ""
            continue
        marker = is_fence(line)
        if marker:
            fence = marker
            out.append(line)
            continue
        if m := _ADMONITION.match(line):
            out.extend(["", m.group(1) + label(m.group(3), m.group(4) or "")])
            bodies.append(len(m.group(1)) + 4 + cut)
            after_label = True  # the body joins the label's paragraph: "**Tip:** Starred ..."
            continue
        if m := _TAB.match(line):
            out.extend(["", f"{m.group(1)}**{m.group(2).strip()}**", ""])
            bodies.append(len(m.group(1)) + 4 + cut)
            continue
        if (m := _BLOCK_END.match(stripped)) and len(m.group(1)) in blocks:
            while blocks.pop() != len(m.group(1)):
                pass
            out.append("")
            continue
        if m := _BLOCK.match(stripped):  # may sit indented in a list item
            blocks.append(len(m.group(1)))
            kind, title = m.group(2), (m.group(3) or "").strip()
            tabbed = kind in ("tab", "details") and bool(title)
            lead = line[:len(line) - len(line.lstrip())]
            out.extend(["", lead + (f"**{title}**" if tabbed else label(kind, title))])
            after_label = True
            continue
        if m := _MKDOCSTRINGS.match(stripped):
            out.extend(["", f"`{m.group(1)}`", ""])
            skip_indent = _indent(line)
            continue
        if "{" in line:
            if m := _ZULIP.match(line):
                rendered = _zulip(m)
                if rendered is not None:
                    out.append(rendered)
                continue
            if _JINJA_LINE.match(line):
                continue
            line = _JINJA_ANY.sub(_jinja, line)
        if after_label and not stripped:
            continue
        after_label = False
        out.append(line)
    return "\n".join(out)
