"""Which pages a set of changed files can reach through include syntax, for diff-only re-syncs.

A page's text (and doc hash) includes the files it includes (``ingest/includes.py``, MDX
partials, reST ``include``/``literalinclude``), so a commit that edits a fragment changes the
pages that include it, and one that adds a file may make a dangling include resolve. Include
targets are resolved against several base folders, so this does not resolve them: it records,
for each file with include syntax, the last path components its include lines name, and a
change to a file with one of those names re-reads the file (and, in turn, whatever includes
it). Over-reading is harmless (an unchanged page is not re-embedded); a line with include
syntax whose target cannot be read off names ``*``, which every change matches.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

# Every include syntax the parsers resolve, as a superset (linear-time: literal alternatives).
_MARKER = re.compile(r"\{!|-{1,2}8<|\{\*|include::")
_IMPORT = re.compile(r"^\s{0,12}import\s")  # MDX partials (.md and .mdx only: code files import too)
_SPLIT = re.compile(r"[\s\"'`{}!*()<>\[\],;]+")
_MDX = {".md", ".markdown", ".mdx"}
_MAX_BYTES = 2_000_000
ANY = "*"


def targets(text: str, suffix: str) -> list[str]:
    """The last path components the include lines of ``text`` name (sorted); ``*`` for a line
    whose target cannot be read off; empty when the file includes nothing."""
    out: set[str] = set()
    mdx = suffix.lower() in _MDX
    for line in text.splitlines():
        found = _MARKER.search(line) or (_IMPORT.match(line) if mdx else None)
        if found is None:
            continue
        start = found.end()
        names = {PurePosixPath(tok).name for tok in _SPLIT.split(line[start:]) if tok.strip(":")}
        names.discard("")
        out |= names or {ANY}
    return sorted(out)


def files(root: Path) -> list[str]:
    """Every file below ``root`` (relative, POSIX), hidden ones and links to folders left out."""
    out: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        base = Path(folder).relative_to(root)
        out.extend((base / name).as_posix() for name in filenames if not name.startswith("."))
    return out


def scan(root: Path, rels: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``targets`` of each text file below ``root`` (or of just ``rels``) that has include syntax."""
    if rels is None:
        rels = files(root)
    out: dict[str, list[str]] = {}
    for rel in rels:
        path = root / rel
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > _MAX_BYTES:
                continue
            raw = path.read_bytes()
        except OSError:
            continue
        if b"\x00" in raw[:8192]:
            continue
        names = targets(raw.decode("utf-8", errors="replace"), PurePosixPath(rel).suffix)
        if names:
            out[rel] = names
    return out


def to_read(root: Path, touched: list[str], old: dict[str, list[str]], new: dict[str, list[str]]) -> list[str] | None:
    """The files a diff-only run must read for a change to ``touched`` (None: read everything).

    The touched files; the files they included before (one may be a page again, no longer a
    fragment); and, transitively, every file that includes one of those (whose text changed,
    and which tells the run which files are fragments).
    """
    names = {name for rel in touched for name in old.get(rel, [])}
    if ANY in names:
        return None
    start = set(touched)
    if names:
        start |= {rel for rel in files(root) if PurePosixPath(rel).name in names}
    return sorted(start | reached(start, new))


def reached(changed: Iterable[str], includes: dict[str, list[str]]) -> set[str]:
    """Files whose text, through includes (transitively), depends on one of the ``changed`` paths."""
    names = {PurePosixPath(rel).name for rel in changed}
    out: set[str] = set()
    grew = bool(names)
    while grew:  # each round adds at least one file, so this ends
        grew = False
        for rel, wanted in includes.items():
            if rel not in out and (ANY in wanted or names.intersection(wanted)):
                out.add(rel)
                names.add(PurePosixPath(rel).name)
                grew = True
    return out

