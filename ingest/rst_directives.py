"""Permissive docutils handlers for Sphinx's directives and roles, so no Sphinx page fails.

docutils alone knows none of Sphinx's markup (``toctree``, ``code-block``, ``:ref:``,
``autoclass``, ``versionadded``, sphinx-tabs). Before a page is parsed, :func:`register`
gives every directive and role name the page uses that docutils does not know a handler:
navigation is dropped, version notes and "see also" become labelled text, code becomes a
literal block, API roles become code, reference roles their text, and anything else keeps
its arguments and content as text (logged once per name). Includes are read only inside
the source folder. docutils keeps its registries in module globals, so registering is
process-wide and idempotent.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive, directives, roles

from docent.paths import doc_file

log = logging.getLogger(__name__)

_DIRECTIVE_NAME = re.compile(r"^[ \t]{0,40}\.\.[ \t]{1,8}([\w:.+-]{1,60})::", re.M)
_ROLE_NAME = re.compile(r":([\w:.+-]{1,60}):`")
_DROP = {"toctree", "index", "highlight", "currentmodule", "module", "py:currentmodule", "py:module",
         "tabularcolumns", "sectionauthor", "codeauthor", "moduleauthor", "autosummary", "only-html"}
_LABELS = {"versionadded": "Added in version", "versionchanged": "Changed in version",
           "deprecated": "Deprecated since version", "versionremoved": "Removed in version",
           "seealso": "See also", "todo": "To do"}
_CODE = {"code-block", "sourcecode", "code", "code-tab", "literalinclude", "productionlist"}
_TABS = {"tab", "group-tab"}
_API_ROLES = {"meth", "func", "class", "attr", "exc", "data", "obj", "mod", "const", "attribute",
              "method", "function", "exception"}
_CODE_ROLES = {"file", "command", "program", "envvar", "option", "kbd", "samp", "makevar", "mimetype",
               "regexp", "dfn"}
_DOCUTILS_ROLES = {"emphasis", "strong", "literal", "code", "math", "pep", "rfc", "sub", "sup", "subscript",
                   "superscript", "title", "title-reference", "t", "abbreviation", "ab", "acronym", "ac",
                   "pep-reference", "rfc-reference"}
_TARGET = re.compile(r"^(.*?)\s*<([^<>]*)>$", re.S)


class _AnyOptions(dict[str, Any]):
    """An option spec that accepts every option (Sphinx directives have many)."""

    def __missing__(self, key: str) -> Any:
        return directives.unchanged

    def __bool__(self) -> bool:  # docutils reads options only when the spec is truthy
        return True


def _context(directive: Directive) -> tuple[Path, Path, list[str]]:
    settings = directive.state.document.settings
    return Path(settings.docent_root), Path(settings.docent_source), settings.docent_warnings


def _read_inside(directive: Directive, target: str) -> str | None:
    """The text of ``target`` (relative to the page), if it lies inside the source folder."""
    root, source, warnings = _context(directive)

    try:
        rel = Path(os.path.normpath(source.parent / target)).relative_to(Path(os.path.normpath(root)))
        found = doc_file(root, rel)
    except ValueError:
        found = None
    if found is None:
        warnings.append(f"include {target!r} is missing or outside the source folder; dropped")
        return None
    try:
        text = found.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        warnings.append(f"include {target!r} is unreadable; dropped")
        return None
    directive.state.document.settings.docent_included[rel.as_posix()] = text
    return text


class _Base(Directive):  # type: ignore[misc]  # docutils has no type stubs
    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = _AnyOptions()

    def _nested(self, node: nodes.Element) -> nodes.Element:
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, node)
        return node


class Generic(_Base):
    """An unknown directive: its arguments as a paragraph, its content parsed as text."""

    def run(self) -> list[nodes.Node]:
        box = nodes.container()
        if self.arguments and self.arguments[0].strip():
            box += nodes.paragraph(text=self.arguments[0].strip())
        return [self._nested(box)]


class Drop(_Base):
    """Navigation and build hints (``toctree``, ``index``, ``highlight``): nothing to read."""

    def run(self) -> list[nodes.Node]:
        return []


class Labelled(_Base):
    """``versionadded:: 2.0 text`` as "**Added in version 2.0:** text" with its content."""

    optional_arguments = 2  # Sphinx: the version, then text that may run on below it

    def run(self) -> list[nodes.Node]:
        short = self.name.split(":")[-1]
        versioned = short.startswith("version") or short == "deprecated"
        version = self.arguments[0].strip() if versioned and self.arguments else ""
        text = " ".join(self.arguments[1 if versioned else 0:]).strip()
        node = nodes.admonition()
        node["docent_label"] = f"{_LABELS.get(short, short)} {version}".strip()
        if text:  # inline markup (roles, literals) in it is parsed like any paragraph's
            inline_nodes, _messages = self.state.inline_text(text, self.lineno)
            node += nodes.paragraph(text, "", *inline_nodes)
        return [self._nested(node)]


class Code(_Base):
    """``code-block:: python`` (and ``literalinclude``, read inside the source folder) as a literal block."""

    def run(self) -> list[nodes.Node]:
        arg = self.arguments[0].strip() if self.arguments else ""
        if self.name == "literalinclude":
            text = _read_inside(self, arg) or ""
            language = str(self.options.get("language", "") or Path(arg).suffix.lstrip("."))
        else:
            text, language = "\n".join(self.content), arg.split()[0] if arg else ""
        if not text.strip():
            return []
        block = nodes.literal_block(text, text)
        block["language"] = language
        return [block]


class Tab(_Base):
    """A sphinx-tabs tab: its label, then its content."""

    def run(self) -> list[nodes.Node]:
        node = nodes.container()
        if self.arguments:
            node += nodes.paragraph("", "", nodes.strong(text=self.arguments[0].strip()))
        return [self._nested(node)]


class Include(_Base):
    """``include::`` of a file inside the source folder (docutils' own reads any path)."""

    has_content = False
    required_arguments = 1
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        text = _read_inside(self, self.arguments[0].strip())
        if text is None:
            return []
        after, before = self.options.get("start-after"), self.options.get("end-before")
        if after and after in text:
            text = text.split(after, 1)[1]
        if before and before in text:
            text = text.split(before, 1)[0]
        if "literal" in self.options or "code" in self.options:
            return [nodes.literal_block(text, text)]
        register(text)
        self.state_machine.insert_input(text.splitlines(), self.arguments[0])
        return []


def role(name: str, rawtext: str, text: str, lineno: int, inliner: Any,
         options: dict[str, Any] | None = None, content: list[str] | None = None
         ) -> tuple[list[nodes.Node], list[nodes.Node]]:
    """Any Sphinx role as its text: ``:ref:`Title <label>``` -> "Title"; API roles as code."""
    short = name.split(":")[-1].lower()
    shown = shorten(text)
    if short in ("meth", "func", "method", "function") and not shown.endswith(")"):
        shown += "()"
    if short == "abbr":
        shown = shown.split(" (", 1)[0]
    if short in _API_ROLES or short in _CODE_ROLES:
        return [nodes.literal(rawtext, shown)], []
    return [nodes.inline(rawtext, shown)], []


def shorten(text: str) -> str:
    """A cross-reference as Sphinx shows it: ``Title <target>`` -> "Title", ``~a.b.c`` -> "c",
    ``.current_app`` -> "current_app", ``/testing`` -> "testing"."""
    shown = text.strip()
    if m := _TARGET.match(shown):
        return m.group(1).strip() or m.group(2).strip()
    if shown.startswith("~"):
        shown = shown[1:].rsplit(".", 1)[-1]
    return shown.lstrip("!~./")


def _known_directive(name: str) -> bool:
    return name in directives._directives or name.lower() in directives._directive_registry


def register(text: str) -> None:
    """Give every directive and role name ``text`` uses that docutils lacks a permissive handler."""
    for name in set(_DIRECTIVE_NAME.findall(text)):
        short = name.split(":")[-1]
        if name == "include":
            directives.register_directive(name, Include)
        elif short in _CODE:
            directives.register_directive(name, Code)
        elif _known_directive(name):
            continue
        elif short in _DROP or name in _DROP:
            directives.register_directive(name, Drop)
        elif short in _LABELS:
            directives.register_directive(name, Labelled)
        elif short in _TABS:
            directives.register_directive(name, Tab)
        else:
            log.info("reStructuredText directive %r is not known: its content is kept as text", name)
            directives.register_directive(name, Generic)
    for name in set(_ROLE_NAME.findall(text)):
        if name.lower() in _DOCUTILS_ROLES or name in roles._roles:
            continue
        roles.register_local_role(name, role)
