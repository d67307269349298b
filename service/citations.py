"""Citation markers are checked in code, not hoped for.

The model writes ``[n]`` after the sentences it takes from source ``n``. Markers that
point at no source are removed, the rest are renumbered in order of first use so the
answer's ``[1]`` is the first entry of ``citations``, and sentences without a marker
are reported so the UI and the evaluation can flag them.

Small local models often answer correctly from the sources yet forget the markers.
:func:`attribute` gives such a sentence a marker only when one source supports it
lexically: nearly all its content words, and every specific token (numbers, names
with dots or underscores, code) appear in that source. A sentence no source supports
that way stays uncited, and an answer with no cited sentence is still an abstention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARKER = re.compile(r"\s?\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_ITEM_NUMBER = re.compile(r"\s*\d{1,3}[.)]\s*")
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
                if _ITEM_NUMBER.fullmatch(line[start:cut]):  # "1. Open ...": a step's number, not a sentence
                    continue
                parts.append(line[start:cut].strip())
                start = cut
            parts.append(line[start:].strip())
    return [p for p in parts if p]


def _needs_citation(sentence: str) -> bool:
    # Headings, list bullets that only introduce a list, and short connective lines
    # carry no claim worth citing.
    bare = MARKER.sub("", sentence).strip(" -*#:")
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
    # (One whitespace run before the optional word, not two in a row: those made it quadratic.)
    text = re.sub(r"[\[【]\s*(?:(?:source|Source|SOURCE)\s*)?(\d{1,3})\s*[\]】]", r"[\1]", text)
    cleaned = MARKER.sub(renumber, text)
    # Only from the start of a run of blanks: trying every blank of a long run was quadratic.
    cleaned = re.sub(r"(?<![ \t])[ \t]+([.,;:!?])", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    uncited = [s for s in split_sentences(cleaned)
               if not s.startswith("```") and not MARKER.search(s) and _needs_citation(s)]
    return CheckedAnswer(cleaned, list(order), removed, uncited)


_TOKEN = re.compile(r"[a-z0-9][a-z0-9_./-]*[a-z0-9]|[a-z0-9]")
_STOP_WORDS = (
    "the a an and or but if then than that this these those is are was were be been being to of in on at by for "
    "with from as it its it's into can you your we our they their there here which who what when where how why "
    "should must may might will would could do does did not no yes also any all each only so such use using "
    "set sets see via per"
)
_STOP = frozenset(_STOP_WORDS.split())
SUPPORT_SHARE = 0.75  # of a sentence's content words that its source must contain
MIN_CONTENT_WORDS = 4


def content_words(text: str, *, keep_short: bool = False) -> list[str]:
    """Lower-cased tokens that are not stop words (and, unless ``keep_short``, longer than two
    characters or a number)."""
    return [t for t in _TOKEN.findall(text.lower())
            if t not in _STOP and (keep_short or len(t) > 2 or t.isdigit())]


def is_specific(token: str) -> bool:
    """Numbers, versions, paths and names with dots, dashes or underscores."""
    return any(c.isdigit() for c in token) or any(c in token for c in "._/-")


def _best_source(sentence: str, sources: list[set[str]]) -> int | None:
    words = content_words(sentence)
    if len(words) < MIN_CONTENT_WORDS:
        return None
    best, best_share = None, 0.0
    for n, vocab in enumerate(sources, start=1):
        if not all(w in vocab for w in words if is_specific(w)):
            continue
        share = sum(w in vocab for w in words) / len(words)
        if share >= SUPPORT_SHARE and share > best_share:
            best, best_share = n, share
    return best


def attribute(text: str, sources: list[str]) -> str:
    """Add ``[n]`` to unmarked sentences that source ``n`` clearly supports (see module doc)."""
    vocab = [set(content_words(source)) for source in sources]
    out, pos = [], 0
    cursor = 0  # where the next sentence is looked for: past the last one found, so each is found once
    for sentence in split_sentences(text):
        at = text.find(sentence, cursor)
        if at < 0:
            continue
        cursor = at + len(sentence)
        if sentence.startswith("```") or MARKER.search(sentence) or not _needs_citation(sentence):
            continue
        n = _best_source(sentence, vocab)
        if n is None:
            continue
        end = at + len(sentence)
        stop = end - 1 if sentence[-1] in ".!?" else end
        out.append(text[pos:stop] + f" [{n}]")
        pos = stop
    out.append(text[pos:])
    return "".join(out)
