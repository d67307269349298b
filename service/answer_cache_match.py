"""When a stored question may answer a new one: embedding similarity plus a lexical guard.

MiniLM puts "How do I mute a stream?" and "How do I unmute a stream?" closer together
than most true paraphrases, so similarity alone cannot tell a repeat from a near-miss.
The guard is cheap string work over the two questions; a pair passes only when:

- their specific tokens (numbers, versions, paths, dotted/underscored or camelCase names,
  number words) are the same, in the same order;
- both or neither are negated;
- the words only one of them uses change nothing that matters: a word of a closed set
  (web/mobile, owner/member, on/off, request/response, ...) must be matched by a synonym in
  the other, and neither has the ``un``/``dis`` form of the other's word;
- when they use the same content words, they use them in the same order ("invoice
  instead of card" is not "card instead of invoice").

The figures behind the threshold are printed by ``bench/cache_threshold.py`` over
``eval/dev/cache_pairs.jsonl``. Every pattern here is linear (questions are user text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_SPLIT = re.compile(r"\s+")
_EDGE = "?!.,;:()\"'`“”‘’<>"
_TOGGLE = {"turn", "turned", "turning", "switch", "switched", "switching", "toggle"}
# Someone other than the asker: "someone else created a poll" is not "I created a poll".
_OTHERS = {"someone", "somebody", "else", "another", "other", "others", "people", "everyone", "everybody"}
_INNER_UPPER = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]")
_SPECIFIC_CHARS = set("0123456789._/{}[]*=#@$%")
# "one" is left out: "a fake one" is no number.
_NUMBERS = {"zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
            "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
            "twice": "2", "half": "0.5"}
_NEGATIONS = {"not", "no", "never", "without", "cannot", "unable", "none", "nothing", "nobody", "neither",
              "nor"}
_STOP_WORDS = """
a an the and or but if then so of to in on at by for from with into onto about as is are was were be been being
am do does did doing done have has had having i me my mine we us our you your he she it its they them their
this that these those there here what which who whom whose when where why how can could would should will
shall may might must any some each every all both just also too very really please thing way get got
anyone someone something one's it's i'm i've i'd let lets want wants need needs try able go going
"""
_STOP = set(_STOP_WORDS.split())
# Closed sets of words, "|" between classes of synonyms. A word of a set that only one question
# uses must be matched by a synonym (same class) among the other's own words: "turn off" may be
# "disable", but not "enable", and "on Android" is not the same question as no platform at all.
_GROUPS = [
    "web | desktop | mobile phone | android | ios iphone ipad | windows | mac macos | linux | browser | terminal",
    "owner | admin administrator | moderator | member | guest | user | bot",
    "small smaller smallest tiny | big bigger biggest large larger largest huge | short | long longer",
    "increase raise grow | decrease lower shrink",
    "first | last | next | previous",
    "before | after | during",
    "request | response",
    "heavy | light",
    "enable activate | disable deactivate",
    "start begin | stop end prevent | pause | resume",
    "open | close",
    "show display | hide",
    "add create | remove delete | edit rename | move | copy",
    "upload | download",
    "import | export",
    "public | private | internal",
    "min minimum | max maximum",
    "old older oldest | new newer newest",
    "more | less fewer",
    "allow | deny block forbid",
    "send | receive",
    "input | output",
    "get | post | put | patch | head | options",
    "json | html | xml | csv | yaml",
    "dark | light",
    "second | minute | hour | day daily | week weekly | month monthly | year yearly",
    "monday | tuesday | wednesday | thursday | friday | saturday | sunday",
    "today | tomorrow | yesterday | tonight",
    "read | unread | set write",
    "sync synchronous | async asynchronous",
    "method | header | cookie | query | body | path | form | file",
    "global | per local",
    "dict dictionary | list array | string str | int integer | float | bool boolean",
]


def _stem(word: str) -> str:
    """A crude suffix strip: enough to match "enabled"/"enable", "streams"/"stream"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _group_map() -> dict[str, set[tuple[int, int]]]:
    """Stem -> the (set, class) pairs it belongs to ("light" is in two sets)."""
    out: dict[str, set[tuple[int, int]]] = {}
    for g, group in enumerate(_GROUPS):
        for c, words in enumerate(group.split("|")):
            for word in words.split():
                out.setdefault(_stem(word), set()).add((g, c))
    return out


_GROUP_OF = _group_map()
_STOP_STEMS = {_stem(w) for w in _STOP}


@dataclass(frozen=True, slots=True)
class Terms:
    """What the guard compares: specific tokens, negation, someone else, content-word stems in order."""

    specific: tuple[str, ...]
    negated: bool
    others: bool
    content: tuple[str, ...]

    @property
    def marks(self) -> list[set[tuple[int, int]]]:
        """The closed-set classes of the content words, in order ("too small ... bigger")."""
        return [_GROUP_OF[w] for w in self.content if w in _GROUP_OF]


def _specific(raw: str) -> bool:
    return bool(_SPECIFIC_CHARS.intersection(raw)) or bool(_INNER_UPPER.search(raw))


def _words(question: str) -> list[str]:
    """Lower-case words and specific tokens (marked with a leading NUL), contractions split."""
    out: list[str] = []
    for raw in _SPLIT.split(question[:4000]):
        token = raw.strip(_EDGE).removesuffix("'s").removesuffix("\u2019s")
        if not token:
            continue
        if _specific(token):
            out.append("\x00" + token.lower().rstrip("?.!,"))
            continue
        lowered = token.lower().replace("\u2019", "'")
        if lowered.endswith("n't"):
            out.extend([lowered[:-3], "not"])
            continue
        out.extend(w for w in lowered.replace("'", "-").split("-") if w)
    return out


def terms(question: str) -> Terms:
    """Split a question into the parts :func:`compatible` compares."""
    specific: list[str] = []
    content: list[str] = []
    negated = others = False
    previous = ""
    for word in _words(question):
        if word.startswith("\x00"):
            specific.append(word[1:])
        elif word in _NUMBERS:
            specific.append(_NUMBERS[word])
        elif word in _NEGATIONS:
            negated = True
        elif word in ("on", "off") and (previous in _TOGGLE or word == "off"):
            content.append(_stem("enable" if word == "on" else "disable"))  # "turn off" is "disable"
        else:
            others = others or word in _OTHERS
            stem = _stem(word)
            if word not in _STOP and stem not in _STOP_STEMS and word not in _OTHERS:
                content.append(stem)
        previous = word
    return Terms(tuple(dict.fromkeys(specific)), negated, others, tuple(dict.fromkeys(content)))


def _contrast(mine: set[str], theirs: set[str]) -> bool:
    """Whether a word only one side uses changes the question (see ``_GROUPS``)."""
    for a in mine:
        for group, cls in _GROUP_OF.get(a, ()):
            if not any((group, cls) in _GROUP_OF.get(b, ()) for b in theirs):
                return True
        for b in theirs:
            for prefix in ("un", "dis", "de", "non", "in", "im"):
                if a == prefix + b or b == prefix + a:
                    return True
    return False


def compatible(a: Terms, b: Terms) -> bool:
    """Whether two questions close in meaning may share an answer (see the module docstring)."""
    if a.specific != b.specific or a.negated != b.negated or a.others != b.others or \
            any(not x & y for x, y in zip(a.marks, b.marks, strict=False)):
        return False
    shared = set(a.content) & set(b.content)
    if _contrast(set(a.content) - shared, set(b.content) - shared) or \
            _contrast(set(b.content) - shared, set(a.content) - shared):
        return False
    # The same words in another order ("invoice instead of card" / "card instead of invoice").
    return set(a.content) != set(b.content) or a.content == b.content


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity (the embedder's vectors are unit length; this does not assume it)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
