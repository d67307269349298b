"""The golden set (eval/golden.jsonl): questions with reference answers and source sections."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("golden.jsonl")
ANSWERABLE_KINDS = {"factual", "paraphrase", "multi", "version", "followup"}


@dataclass(frozen=True, slots=True)
class Source:
    doc: str
    section: str


@dataclass(frozen=True, slots=True)
class GoldenItem:
    """One golden question."""

    id: str
    question: str
    reference: str
    sources: tuple[Source, ...]
    kind: str
    visibility: str
    smoke: bool
    history: tuple[dict[str, str], ...] = field(default=())

    @property
    def answerable_publicly(self) -> bool:
        """Whether the public path should answer (internal and unanswerable must abstain)."""
        return self.kind in ANSWERABLE_KINDS and self.visibility == "public"

    @property
    def docs(self) -> set[str]:
        return {s.doc for s in self.sources}


def _item(raw: dict[str, Any]) -> GoldenItem:
    return GoldenItem(
        id=str(raw["id"]), question=str(raw["question"]), reference=str(raw.get("reference", "")),
        sources=tuple(Source(str(s["doc"]), str(s["section"])) for s in raw.get("sources", [])),
        kind=str(raw.get("kind", "factual")), visibility=str(raw.get("visibility", "public")),
        smoke=bool(raw.get("smoke", False)), history=tuple(raw.get("history", [])),
    )


def load(path: Path = DEFAULT_PATH) -> list[GoldenItem]:
    """All items, in file order; a malformed line names its number."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(_item(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: bad golden item ({exc})") from exc
    return items
