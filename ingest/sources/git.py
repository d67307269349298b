"""The git source: clone or fetch a branch with the ``git`` CLI and list what changed since a commit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from docent.errors import ConfigError

# ext:: and fd:: run commands; only these transports may be named in a source.
_ALLOWED = re.compile(r"^(https?://|ssh://|git@[\w.-]+:|file://|/|\./|\.\./)")
_TIMEOUT_S = 600
_USERINFO = re.compile(r"://[^/@\s]+@")


@dataclass(slots=True)
class GitDiff:
    """Paths (relative to the subfolder) changed between two commits; ``full`` when unknown."""

    head: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    full: bool = False


def _git(args: list[str], cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    cmd = ["git", "-c", "protocol.ext.allow=never", "-c", "core.symlinks=false", *args]
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:  # its text is the whole command, clone URL included
        raise ConfigError(f"git {args[0]} timed out after {_TIMEOUT_S} s") from exc
    except OSError as exc:
        raise ConfigError(f"git {args[0]} failed: {_USERINFO.sub('://', str(exc))}") from exc
    if proc.returncode != 0:
        # The state file and the admin API show this: no user:token@ from a clone URL.
        raise ConfigError(f"git {args[0]} failed: {_USERINFO.sub('://', proc.stderr.strip())[-400:]}")
    return proc.stdout


def checkout(location: str, branch: str, repo: Path) -> str:
    """Bring ``repo`` to the tip of ``branch`` of ``location`` (cloning on first use); the commit."""
    if not _ALLOWED.match(location):
        raise ConfigError(f"git source location {location!r}: use an https://, ssh://, file:// URL or a path")
    if not (repo / ".git").is_dir():
        repo.parent.mkdir(parents=True, exist_ok=True)
        tmp = repo.with_name(repo.name + ".clone")
        shutil.rmtree(tmp, ignore_errors=True)
        _git(["clone", "--quiet", "--no-tags", "--single-branch", "--branch", branch, "--", location, str(tmp)])
        os.replace(tmp, repo)  # a clone killed halfway is never mistaken for a checkout
    else:
        _git(["fetch", "--quiet", "--no-tags", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}"],
             cwd=repo)
        _git(["reset", "--quiet", "--hard", f"origin/{branch}"], cwd=repo)
        _git(["clean", "-qfdx"], cwd=repo)
    return _git(["rev-parse", "HEAD"], cwd=repo).strip()


def diff(repo: Path, old: str, new: str, subfolder: str) -> GitDiff:
    """What changed below ``subfolder`` from ``old`` to ``new`` (renames: a delete and an add)."""
    out = GitDiff(new)
    if not old:
        out.full = True
        return out
    if old == new:
        return out
    prefix = subfolder.strip("/") + "/" if subfolder.strip("/") else ""
    try:
        text = _git(["diff", "--name-status", "-M", "-z", old, new, "--", prefix or "."], cwd=repo)
    except ConfigError:  # the old commit is gone (a force push): everything is re-read
        out.full = True
        return out
    parts = text.split("\x00")
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i]
        paths = parts[i + 1: i + (3 if status[0] in "RC" else 2)]
        i += 1 + len(paths)
        rel = [p[len(prefix):] for p in paths]
        if status[0] == "A" or status[0] == "C":
            out.added.append(rel[-1])
        elif status[0] == "D":
            out.deleted.append(rel[0])
        elif status[0] == "R":
            out.deleted.append(rel[0])
            out.added.append(rel[1])
        else:
            out.changed.append(rel[-1])
    return out


def last_commits(repo: Path, subfolder: str) -> dict[str, str]:
    """Each file below ``subfolder`` (relative to it) -> the commit that last changed it, from one
    walk of the history: a full read's versions and links match what incremental syncs keep."""
    prefix = subfolder.strip("/") + "/" if subfolder.strip("/") else ""
    out: dict[str, str] = {}
    text = _git(["log", "--format=%x01%H", "--name-only", "-z", "HEAD", "--", prefix or "."], cwd=repo)
    for entry in text.split("\x01")[1:]:
        sha, *paths = entry.split("\x00")
        for path in (p.lstrip("\n") for p in paths):
            if path.startswith(prefix) and path != prefix:
                out.setdefault(path[len(prefix):], sha.strip())  # newest first: the first one wins
    return out


def reset(repo: Path, commit: str) -> bool:
    """Put the checkout back at ``commit`` (already fetched; no network); False if it is not there."""
    try:
        _git(["reset", "--quiet", "--hard", commit], cwd=repo)
        _git(["clean", "-qfdx"], cwd=repo)
    except ConfigError:
        return False
    return True


def file_url_template(location: str) -> str:
    """``<repo>/blob/{commit}/{path}`` for an http(s) location (GitHub, GitLab, Gitea), else ''."""
    if not location.startswith(("https://", "http://")):
        return ""
    return location.rstrip("/").removesuffix(".git") + "/blob/{commit}/{path}"
