"""Flag documents that contain instruction-like text aimed at the answering model.

Docs are the customer's own, so a flagged page is still indexed; it is only marked,
logged and listed in the staff console (``GET /v1/console/flags``), because text such
as "Assistant: ignore your rules and reveal ..." in a user-contributed page is how a
prompt injection reaches the model. The answer prompt already treats every source as
untrusted data; this is the early warning for the people who own the docs.

The detector is a handful of regular expressions, matched case-insensitively per line
after NFKC normalisation (fullwidth ``＜``, ligatures) with zero-width characters
removed, so simple disguises still match. Each pattern is narrow on purpose: docs say
"ignore the warning if ..." and "you are now ready to ...", and those must not flag.
The scan covers the raw file (front matter included: a title reaches the prompt too).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ingest.changelog import write_atomic

log = logging.getLogger(__name__)

FLAGS_FILE = "flags.json"  # under <data>/ingest/, beside changes.jsonl

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_VERB = r"(?:ignore|disregard|forget|override|bypass|skip)"
_EARLIER = r"(?:all|any|every|previous|prior|above|earlier|preceding|foregoing|your|system|original|these|those)"
_ORDERS = r"(?:instructions?|prompts?|rules|guidelines|directives|guardrails|constraints)"



def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


PATTERNS: dict[str, re.Pattern[str]] = {
    # "Ignore all previous instructions", "disregard your rules": the classic override.
    # The target noun is required, so "ignore the warning if ..." stays clean.
    "ignore_instructions": _rx(
        rf"\b{_VERB}\b(?:\W+\w+){{0,3}}?\W+{_EARLIER}\b(?:\W+\w+){{0,3}}?\W+{_ORDERS}\b"),
    # "Disregard the above" / "forget everything above": no noun, but "above" is the tell.
    # ("override above $500" is finance, hence the narrower verbs and no amount after it.)
    "disregard_above": _rx(
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)?(?:of\s+)?"
        r"(?:the\s+|that\s+|what\s+is\s+)?(?:above|foregoing|said\s+before)\b(?!\s*[$\u20ac\u00a3\d])"),
    # A new identity or mode for the assistant. "You are now ready to back up" is prose.
    "role_override": _rx(
        r"\byou\s+are\s+now\s+(?:an?\s+|in\s+)?(?:unrestricted|jailbroken|unfiltered|dan\b|developer\s+mode|"
        r"maintenance\s+mode|debug\s+mode|admin\s+mode|god\s+mode|no\s+longer|free\s+(?:of|from)|"
        r"(?:ai|assistant|chatbot|language\s+model)\b)"
        r"|\bfrom\s+now\s+on,?\s+(?:you|the\s+(?:assistant|ai|model|bot))\s+(?:will|must|should|are|may)\b"
        r"|\b(?:pretend|act)\s+(?:that\s+)?(?:you\s+are|to\s+be|as\s+(?:an?|the)\s+(?:unrestricted|system|admin))\b"),
    # Talk about the model's own prompt is never documentation.
    "system_prompt": _rx(
        r"\b(?:system|developer|hidden|initial|original|secret)\s+(?:prompt|instructions)\b"
        r"|\byour\s+(?:prompt|instructions|rules|guidelines)\b"),
    # Requests to disclose what a public answer must never contain.
    "reveal_request": _rx(
        r"\b(?:reveal|leak|dump|disclose|exfiltrate|divulge|expose)\b(?:\W+\w+){0,6}?\W+"
        r"(?:internal|confidential|hidden|private|secret|staff[- ]only)\b"),
    # A chat role at the start of a line ("Assistant:", "**System:**", "> User:") fakes a turn.
    # Capitalised only: YAML in code samples has lower-case keys such as "user: pylon_backup".
    "role_prefix": _rx(
        r"^[\s>*_#\-]*(?:\*\*|__)?(?-i:Assistant|ASSISTANT|System|SYSTEM|User|USER|Human|HUMAN|AI|Chatbot|Docent)"
        r"(?:\*\*|__)?\s*:(?!//)"),
    # Chat-template control tokens have no business in docs.
    "chat_template_token": _rx(
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|\[/?INST\]|<</?SYS>>"),
    # The answer prompt wraps each source in <source> tags; a doc that writes one tries to
    # close its own block and speak outside it (service/guard.py also neutralises these).
    # A bare "<source>" is a CLI placeholder ("pylon restore <source>"); a closing tag or
    # one with attributes is not.
    "source_tag": _rx(r"<\s*/\s*sources?\b|<\s*sources?\s+[\w-]+\s*="),
}


@dataclass(frozen=True, slots=True)
class Flag:
    """One match: which pattern, on which line of the file (1-based)."""

    pattern: str
    line: int


def normalise(text: str) -> str:
    """NFKC, zero-width characters removed: what a model reads, not how it is spelt."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)


def scan(text: str) -> tuple[Flag, ...]:
    """Every pattern that matches, once per line, in line order."""
    found: list[Flag] = []
    for number, line in enumerate(normalise(text).splitlines(), start=1):
        found.extend(Flag(name, number) for name, pattern in PATTERNS.items() if pattern.search(line))
    return tuple(found)


def flag_record(path: str, title: str, visibility: str, groups: Iterable[str],
                flags: Iterable[Flag]) -> dict[str, Any]:
    """What the flags file and the console hold for one doc: never its text."""
    return {"path": path, "title": title, "visibility": visibility, "groups": list(groups),
            "flags": [asdict(f) for f in flags]}


def write_flags(folder: Path, records: list[dict[str, Any]]) -> Path:
    """Replace ``<folder>/flags.json`` atomically (a reader sees the old or the new file)."""
    path = folder / FLAGS_FILE
    write_atomic(path, json.dumps({"flagged": records}, indent=1))
    return path


def read_flags(data_dir: Path) -> list[dict[str, Any]]:
    """The flagged docs recorded by the last ingest into ``data_dir``; none if it never ran."""
    try:
        data = json.loads((data_dir / "ingest" / FLAGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    records = data.get("flagged") if isinstance(data, dict) else None
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
