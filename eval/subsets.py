"""Which golden questions a run asks: smoke, affected by changed docs, or all.

The affected subset is every question whose golden source docs, or whose citations in
the previous run ("last-cited chunks"), are in the changed docs, plus the fixed
smoke set, so a doc edit re-checks exactly the answers it could have moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eval.golden import GoldenItem
from eval.records import RunRecord


@dataclass(slots=True)
class Selection:
    """The questions to ask, in golden order, and why each one was picked."""

    subset: str
    items: list[GoldenItem]
    reasons: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def last_cited_docs(previous: RunRecord | None) -> dict[str, set[str]]:
    """Question id -> the docs its answer cited in the previous run."""
    if previous is None:
        return {}
    return {q.id: set(q.cited_docs) for q in previous.questions}


def affected(items: list[GoldenItem], changed_docs: set[str], previous: RunRecord | None) -> Selection:
    """Questions touched by ``changed_docs``, plus the smoke set."""
    cited = last_cited_docs(previous)
    reasons: dict[str, str] = {}
    for item in items:
        golden = sorted(item.docs & changed_docs)
        was_cited = sorted(cited.get(item.id, set()) & changed_docs)
        if golden:
            reasons[item.id] = "golden source changed: " + ", ".join(golden)
        elif was_cited:
            reasons[item.id] = "previously cited doc changed: " + ", ".join(was_cited)
        elif item.smoke:
            reasons[item.id] = "smoke"
    return Selection("affected", [i for i in items if i.id in reasons], reasons)


def changes_since(entries: list[dict[str, Any]], since_ts: float | None) -> dict[str, list[str]]:
    """Docs added, changed and removed by change-log entries newer than ``since_ts``."""
    added: set[str] = set()
    changed: set[str] = set()
    removed: set[str] = set()
    for entry in entries:
        if since_ts is not None and float(entry.get("ts", 0)) <= since_ts:
            continue
        for path in entry.get("added", []):
            removed.discard(path)
            added.add(path)
        for path in entry.get("changed", []):
            if path not in added:
                changed.add(path)
        for path in entry.get("removed", []):
            added.discard(path)
            changed.discard(path)
            removed.add(path)
    return {"added": sorted(added), "changed": sorted(changed), "removed": sorted(removed)}


def touched(changes: dict[str, Any]) -> set[str]:
    """Every doc path in a change set or change-log entry (its other fields are ignored)."""
    return {str(p) for kind in ("added", "changed", "removed") for p in changes.get(kind, [])}


def select(
    items: list[GoldenItem],
    subset: str,
    *,
    changed_docs: set[str] | None = None,
    previous: RunRecord | None = None,
    limit: int | None = None,
    affected_max: int | None = None,
    ids: list[str] | None = None,
) -> Selection:
    """The questions for ``subset`` (smoke | changed | affected | full), cut to ``limit``."""
    if ids:
        wanted = set(ids)
        selection = Selection("ids", [i for i in items if i.id in wanted], {i: "requested" for i in ids})
    elif subset == "smoke":
        selection = Selection(
            "smoke", [i for i in items if i.smoke], {i.id: "smoke" for i in items if i.smoke}
        )
    elif subset in ("changed", "affected"):
        selection = affected(items, changed_docs or set(), previous)
        if affected_max is not None and len(selection.items) > affected_max:
            smoke = select(items, "smoke")
            smoke.notes.append(
                f"{len(selection.items)} questions were affected (more than {affected_max}); "
                "ran the smoke set instead"
            )
            selection = smoke
    elif subset == "full":
        selection = Selection("full", list(items), {i.id: "full" for i in items})
    else:
        raise ValueError(f"unknown subset {subset!r}: use smoke, changed, affected or full")
    if limit is not None and len(selection.items) > limit:
        selection.notes.append(f"limited to the first {limit} of {len(selection.items)} questions")
        selection.items = selection.items[:limit]
    return selection
