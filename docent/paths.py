"""Containment of doc paths: the one check every reader of a docs folder goes through.

Docs folders are usually git checkouts, and git stores symlinks, so a merged pull
request can plant ``guide.md -> /etc/passwd`` or a folder link to the server's data
dir. Ingest, the ``/docs`` pages and the console all open files through
``resolve_inside``, which follows every link and ``..`` and refuses a target that
lands outside the root.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path


def resolve_inside(root: Path, candidate: Path) -> Path | None:
    """``candidate`` fully resolved, or None when it leaves ``root`` or cannot be resolved.

    ``root`` is resolved too, so a docs folder that is itself a symlink still works.
    Over-long or otherwise unresolvable names count as outside (never an exception).
    """
    try:
        real_root = root.resolve(strict=True)
        real = (root / candidate).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, loop, name too long, NUL byte
        return None
    return real if real == real_root or real.is_relative_to(real_root) else None


def doc_file(root: Path, rel: Path) -> Path | None:
    """The real file behind ``root/rel`` as the folder walk would read it, else None.

    No folder on the way may be a symlink (the walk never descends one), and the file
    itself, if it is a link, must resolve inside ``root``. Never raises.
    """
    if rel.is_absolute() or ".." in rel.parts:
        return None
    current = root
    for part in rel.parts[:-1]:
        current = current / part
        if is_link(current):
            return None
    real = resolve_inside(root, rel)
    try:
        return real if real is not None and real.is_file() else None
    except (OSError, ValueError):
        return None


def refusal(root: Path, path: Path) -> str:
    """Why ``doc_file`` or the walk refused ``path`` (below ``root``), for the ingest summary."""
    try:
        exists = path.exists()
    except (OSError, ValueError):
        exists = False
    if not exists:
        return "unreadable: broken symlink (its target is missing)" if is_link(path) else "unreadable: cannot resolve"
    if resolve_inside(root, path.relative_to(root)) is None:
        return "symlink resolves outside the docs folder"
    return "path goes through a symlinked folder (such folders are not read)"


def is_link(path: Path) -> bool:
    """True for a symlink (never raises)."""
    try:
        return path.is_symlink()
    except (OSError, ValueError):
        return False


def walk_files(root: Path, suffixes: Collection[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files with these suffixes below ``root`` that resolve inside it, and the paths refused, with why.

    Folder links are never descended: one pointing outside is refused, and one pointing
    inside would only ingest the same pages twice under a second path (or loop).
    Hidden files and folders are left out silently, as before.
    """
    files: list[Path] = []
    refused: list[tuple[Path, str]] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(folder)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            path = base / name
            if is_link(path):
                inside = resolve_inside(root, path.relative_to(root)) is not None
                refused.append((path, "folder symlink inside the docs folder (its pages are read at their own path)"
                                if inside else refusal(root, path)))
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            path = base / name
            if resolve_inside(root, path.relative_to(root)) is None:
                refused.append((path, refusal(root, path)))
            else:
                files.append(path)
    return sorted(files), refused
