"""Who may read a page: page front matter, then the source's path rules, then its default.

Every decision records the rule that made it, so ``docent ingest --check-visibility``
can print it and a doc team can review it in CI. Doubt is internal: metadata that
cannot be read, or a page no rule decides while the source has no default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pathspec

from docent.schema import Visibility
from docent.settings import VisibilitySettings
from ingest.front_matter import PRIVATE_FLAGS, Metadata

_TRUE = {True, "true", "yes", "on", "1"}


@dataclass(frozen=True, slots=True)
class PathRule:
    """Pages matching ``pattern`` (gitignore syntax, relative to the source root) get this access."""

    pattern: str
    visibility: Visibility
    groups: tuple[str, ...] = ()

    def matches(self, rel_path: str) -> bool:
        return _spec(self.pattern).match_file(rel_path)


@lru_cache(maxsize=256)
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines([pattern])


@dataclass(frozen=True, slots=True)
class VisibilityPolicy:
    """A source's access rules; frozen and hashable, so page caches can key on it."""

    default: Visibility | None
    rules: tuple[PathRule, ...] = ()

    @classmethod
    def from_settings(cls, settings: VisibilitySettings) -> VisibilityPolicy:
        return cls(settings.default, tuple(PathRule(r.pattern, r.visibility, tuple(sorted(r.groups)))
                                           for r in settings.rules))


DEFAULT_POLICY = VisibilityPolicy.from_settings(VisibilitySettings())


@dataclass(frozen=True, slots=True)
class Decision:
    """A page's access and why: ``rule`` names what decided; ``problems`` made it fail closed."""

    visibility: Visibility
    groups: tuple[str, ...]
    rule: str
    problems: tuple[str, ...] = ()
    explicit: bool = True  # False when only the fail-closed fallback decided


def _groups(value: object, problems: list[str]) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return ()
    if isinstance(value, str):
        return tuple(sorted({g.strip() for g in value.split(",") if g.strip()}))
    if isinstance(value, list) and all(isinstance(g, str | int) for g in value):
        return tuple(sorted({str(g).strip() for g in value if str(g).strip()}))
    problems.append("groups is neither a list of names nor a comma-separated string")
    return ()


def _from_page(meta: Metadata, problems: list[str]) -> tuple[Visibility, tuple[str, ...], str] | None:
    fields = meta.fields
    groups = _groups(fields.get("groups"), problems)
    for flag in PRIVATE_FLAGS:
        value = fields.get(flag)
        if value in _TRUE or (isinstance(value, str) and value.strip().lower() in _TRUE):
            return "internal", groups, f"front matter {flag}: {value}"
    if "visibility" in fields:
        raw = fields["visibility"]
        value = raw.strip().lower() if isinstance(raw, str) else None
        if value == "public":
            return "public", groups, "front matter"
        if value != "internal":
            problems.append(f"unknown visibility {raw!r}")
        return "internal", groups, "front matter"
    if groups:  # groups without a visibility only make sense for a restricted page
        return "internal", groups, "front matter groups"
    return None


def decide(meta: Metadata, rel_path: str, policy: VisibilityPolicy = DEFAULT_POLICY) -> Decision:
    """The access of the page at ``rel_path`` with metadata ``meta`` under ``policy``."""
    problems = list(meta.problems)
    page = _from_page(meta, problems)
    rule = next((r for r in policy.rules if r.matches(rel_path)), None)
    if problems:
        groups = page[1] if page else ()
        return Decision("internal", groups, "failed closed: " + "; ".join(problems), tuple(problems))
    if page is not None:
        visibility, groups, why = page
        if rule is not None and rule.visibility == "internal" and visibility == "public":
            why += f" (overrides path rule {rule.pattern!r}, which says internal)"
        return Decision(visibility, groups, why)
    if rule is not None:
        return Decision(rule.visibility, rule.groups, f"path rule {rule.pattern!r}")
    if policy.default is not None:
        return Decision(policy.default, (), "source default")
    return Decision("internal", (), "no decision (no front matter, no path rule, no source default): internal",
                    explicit=False)
