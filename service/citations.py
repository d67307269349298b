"""Citation markers are checked in code, not hoped for.

The model writes ``[n]`` after the sentences it takes from source ``n``. Markers that
point at no source are removed, the rest are renumbered in order of first use so the
answer's ``[1]`` is the first entry of ``citations``, and sentences without a marker
are reported so the UI and the evaluation can flag them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MARKER = re.compile(r"\s?\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])(?:\s*\[\d+(?:\s*,\s*\d+)*\])*\s+(?=[A-Z0-9`*\-])")


@dataclass(slots=True)
class CheckedAnswer:
    """An answer whose markers all point at real sources."""

    text: str
    cited: list[int]  # source numbers (1-based, into the prompt's sources) in marker order
    removed_markers: list[int] = field(default_factory=list)
    uncited_sentences: list[str] = field(default_factory=list)


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing markers attached (code blocks kept whole)."""
    parts: list[str] = []
    for block in re.split(r"(```.*?```)", text, flags=re.S):
        if block.startswith("```"):
            parts.append(block)
            continue
        for line in block.split("\n"):
            cuts = [m.end() for m in _SENTENCE.finditer(line)]
            start = 0
            for cut in cuts:
                parts.append(line[start:cut].strip())
                start = cut
            parts.append(line[start:].strip())
    return [p for p in parts if p]


def _needs_citation(sentence: str) -> bool:
    # Headings, list bullets that only introduce a list, and short connective lines
    # carry no claim worth citing.
    bare = _MARKER.sub("", sentence).strip(" -*#:")
    return len(bare.split()) >= 4 and not sentence.rstrip().endswith(":")


def check(text: str, n_sources: int) -> CheckedAnswer:
    """Drop invalid markers, renumber valid ones by first use, list uncited sentences."""
    order: dict[int, int] = {}
    removed: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        keep: set[int] = set()
        for raw in match.group(1).split(","):
            n = int(raw)
            if 1 <= n <= n_sources:
                keep.add(order.setdefault(n, len(order) + 1))
            else:
                removed.append(n)
        lead = " " if match.group(0).startswith(" ") else ""
        return lead + "".join(f"[{k}]" for k in sorted(keep)) if keep else ""

    # Small models sometimes write "[Source 2]" or "【2】"; normalise before checking.
    text = re.sub(r"[\[【]\s*(?:source|Source|SOURCE)?\s*(\d{1,3})\s*[\]】]", r"[\1]", text)
    cleaned = _MARKER.sub(renumber, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    uncited = [s for s in split_sentences(cleaned)
               if not s.startswith("```") and not _MARKER.search(s) and _needs_citation(s)]
    return CheckedAnswer(cleaned, list(order), removed, uncited)
