"""Include and snippet syntax, resolved only inside the source folder.

Recognised, each on a line of its own:

- ``{!name.md!}`` (Zulip, Python-Markdown ``markdown-include``) and ``{!> path!}`` (FastAPI):
  the file's text in place;
- ``--8<-- "path"`` (pymdownx.snippets): the file's text in place;
- ``{* path hl[1,3:5] ln[2:9] *}`` (FastAPI code includes): a fenced code block with the
  file's lines (``ln[...]`` selects lines; ``hl[...]`` is highlighting and is ignored).

A relative path is looked up in the including file's ``include/`` and ``_includes/``
subfolders, its folder, then each folder above it up to the source root, the way the
site generators' base folders make it resolve. A target outside the source folder (by
path or by symlink), a missing one or a cycle is dropped, with a warning naming it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from docent.paths import doc_file

MAX_DEPTH = 8  # Zulip nests three deep; deeper is a cycle in disguise
MAX_INCLUDE_BYTES = 1_000_000
_MD_INCLUDE = re.compile(
    r"^\s{0,12}(?:(?:[-*+]|\d{1,3}[.)])\s{1,4})?\{!>?\s{0,4}([^!{}\s][^!{}]{0,300}?)\s{0,4}!\}\s*$")
_SNIPPET = re.compile(r"^\s{0,12}-{1,2}8<-{1,2}\s{1,4}[\"']([^\"']{1,300})[\"']\s*$")
_CODE_INCLUDE = re.compile(
    r"^\s{0,12}\{\*\s{1,4}(\S{1,300})((?:\s{1,4}[a-z]{1,8}\[[^\]\n]{0,200}\]){0,4})\s{0,4}\*\}\s*$")
_LINES = re.compile(r"ln\[([0-9,:\s]{0,200})\]")
_LANGUAGES = {".py": "python", ".js": "javascript", ".ts": "typescript", ".tsx": "tsx", ".json": "json",
              ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".sh": "bash", ".html": "html", ".css": "css"}


@dataclass(slots=True)
class Includes:
    """Resolves includes for one document; ``files`` and ``warnings`` say what it did."""

    root: Path
    files: dict[str, str] = field(default_factory=dict)  # real path -> text, for the doc hash
    warnings: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # real path -> its path below the root, as found

    def included(self) -> tuple[str, ...]:
        """The files pulled in, as paths below the root (POSIX): they are fragments, not pages."""
        return tuple(sorted({self.names[k] for k in self.files if k in self.names}))

    def find(self, source: Path, target: str) -> Path | None:
        """The file ``target`` names, if it resolves inside the root; see the module docstring."""
        if target.startswith("/") or "\x00" in target:
            return None
        # Lexical paths: doc_file then refuses symlinked folders and links leading out.
        root = Path(os.path.normpath(self.root.absolute()))
        folder = Path(os.path.normpath(source.absolute())).parent
        bases = [folder / "include", folder / "_includes", folder]  # Zulip: include/ first
        here = folder
        while here != root and root in here.parents:
            here = here.parent
            bases.append(here)
        for base in bases:
            try:
                rel = Path(os.path.normpath(base / target)).relative_to(root)
            except ValueError:
                continue
            found = doc_file(root, rel)
            if found is not None:
                self.names.setdefault(str(found), rel.as_posix())
                return found
        return None

    def _read(self, source: Path, target: str) -> tuple[Path, str] | None:
        found = self.find(source, target)
        if found is None:
            self.warnings.append(f"include {target!r} is missing or outside the source folder; dropped")
            return None
        try:
            if found.stat().st_size > MAX_INCLUDE_BYTES:
                self.warnings.append(f"include {target!r} is larger than 1 MB; dropped")
                return None
            text = found.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.warnings.append(f"include {target!r} is unreadable ({type(exc).__name__}); dropped")
            return None
        self.files[str(found)] = text
        return found, text

    def expand(self, text: str, source: Path, depth: int = 0, chain: tuple[Path, ...] = ()) -> str:
        """``text`` (of the file ``source``) with every include line replaced, recursively."""
        out: list[str] = []
        for line in text.split("\n"):
            if "{" not in line and "8<" not in line:
                out.append(line)
                continue
            code = _CODE_INCLUDE.match(line)
            md = None if code else (_MD_INCLUDE.match(line) or _SNIPPET.match(line))
            if code is None and md is None:
                out.append(line)
                continue
            # "1. {!x.md!}": the item's marker goes on the first line, its indent on the rest.
            brace = line.find("{")  # a snippet line ("--8<-- ...") has none
            prefix = line[:brace] if brace >= 0 else line[:len(line) - len(line.lstrip())]
            indent = " " * len(prefix)
            target = (code or md).group(1).strip()  # type: ignore[union-attr]
            got = self._read(source, target)
            if got is None:
                continue
            path, body = got
            if code is not None:
                lang = _LANGUAGES.get(path.suffix.lower(), "")
                picked = _select(body, code.group(2))
                out.extend([prefix + f"```{lang}", *(indent + row for row in picked.rstrip("\n").split("\n")),
                            indent + "```"])
                continue
            if path in chain or depth >= MAX_DEPTH:
                self.warnings.append(f"include {target!r} nests too deep or includes itself; dropped")
                continue
            inner = self.expand(body.rstrip("\n"), path, depth + 1, (*chain, path)).split("\n")
            out.extend([prefix + inner[0], *(indent + row if row else row for row in inner[1:])])
        return "\n".join(out)


def _select(body: str, options: str) -> str:
    """The lines ``ln[1:3,7]`` picks (1-based, inclusive), or all of them."""
    m = _LINES.search(options or "")
    if not m:
        return body
    lines = body.split("\n")
    picked: list[str] = []
    for part in m.group(1).split(","):
        a, _, b = part.strip().partition(":")
        try:
            start = int(a) if a else 1
            end = int(b) if b else (start if not _ else len(lines))
        except ValueError:
            continue
        picked.extend(lines[max(0, start - 1):end])
    return "\n".join(picked)
