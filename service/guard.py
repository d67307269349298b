"""The answer path's two prompt-injection defences, one on the way in and one on the way out.

In: retrieved text is data. Each source sits in a ``<source id=..>`` block that the
prompt labels untrusted, so a doc must not be able to close its block and speak
outside it: :func:`fence` neutralises source tags inside chunk text and :func:`attr`
keeps a title from breaking out of its attribute.

Out: an injected doc (or a curious user) may get the model to recite its instructions.
:func:`leaks_prompt` says whether a reply reproduces 8 or more consecutive words of the
answer prompts (system prompt and the fixed text of the user prompt), and
:func:`safe_end` tells the streaming path how much of a reply can go out now without
sending the start of such a span, so at most three words of one ever reach a client.
Paraphrases and translations are not caught: this is a tripwire for verbatim
recitation, the common case, not a proof.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from service import prompts

SPAN_WORDS = 8  # a shared run this long is a recitation, not a coincidence
HOLD_WORDS = 4  # a trailing run this long that could grow into one is held back while streaming
PROMPTS = ("answer_system", "answer_user")

_LT = "<\uff1c\ufe64\u2039\u3008\u27e8"  # "<" and the lookalikes a model may read as one
_ZW = "\u200b\u200c\u200d\u2060\u00ad"  # zero-width characters that hide a word's spelling
# A closing tag, or an opening one with attributes (a forged source). A bare "<source>"
# stays: the CLI docs use it as a placeholder ("pylon restore <source>"). Matched on the
# text with zero-width characters taken out: allowing them between every letter inside
# the pattern made it quadratic (18 s on 50 KB of "<" and U+200B), and now they cannot
# hide the tag anywhere in it.
_SOURCE_TAG = re.compile(rf"[{_LT}](?:\s*/\s*sources?\b|\s*sources?\s+[\w-]+\s*=)", re.IGNORECASE)
_ZW_ANY = re.compile(f"[{_ZW}]")
_MARKER = re.compile(r"\[\d+\]")
_TOKEN = re.compile(rf"[^\W_](?:[^\W_]|[{_ZW}])*")


def fence(text: str) -> str:
    """Chunk text with source delimiters neutralised (``</source>`` -> ``&lt;/source>``)."""
    if _ZW_ANY.search(text) is None:
        starts = [m.start() for m in _SOURCE_TAG.finditer(text)]
    else:
        kept = [i for i, c in enumerate(text) if c not in _ZW]  # positions in text of the skeleton
        starts = [kept[m.start()] for m in _SOURCE_TAG.finditer("".join(text[i] for i in kept))]
    out, pos = [], 0
    for start in starts:  # the tag's "<" (or look-alike) becomes "&lt;"; the rest stays as written
        out += [text[pos:start], "&lt;"]
        pos = start + 1
    out.append(text[pos:])
    return "".join(out)


def attr(value: str) -> str:
    """A value safe inside a double-quoted tag attribute of the source block."""
    return value.replace('"', "'").replace("<", "&lt;").replace(">", "&gt;")


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Words (normalised, citation markers skipped) with their spans in ``text``."""
    masked = _MARKER.sub(lambda m: " " * len(m.group()), text)
    out = []
    for m in _TOKEN.finditer(masked):
        word = unicodedata.normalize("NFKC", m.group()).casefold()
        out.append((re.sub(f"[{_ZW}]", "", word), m.start(), m.end()))
    return out


@cache
def _prompt_grams(names: tuple[str, ...] = PROMPTS) -> frozenset[tuple[str, ...]]:
    """Every run of HOLD_WORDS..SPAN_WORDS words in the fixed text of the prompts.

    Placeholders (``$sources``, ``$question``) split the text: a run never spans one.
    """
    grams: set[tuple[str, ...]] = set()
    for name in names:
        for piece in re.split(r"\$\w+|\$\{\w+\}", prompts.load(name).template):
            words = [w for w, _, _ in _tokens(piece)]
            for k in range(HOLD_WORDS, SPAN_WORDS + 1):
                grams.update(tuple(words[i:i + k]) for i in range(len(words) - k + 1))
    return frozenset(grams)


def leaks_prompt(text: str) -> bool:
    """True when ``text`` reproduces SPAN_WORDS or more consecutive words of the prompts."""
    grams = _prompt_grams()
    words = [w for w, _, _ in _tokens(text)]
    return any(tuple(words[i:i + SPAN_WORDS]) in grams for i in range(len(words) - SPAN_WORDS + 1))


def safe_end(text: str) -> int:
    """How much of a partial reply may be streamed: up to the start of a trailing run of
    HOLD_WORDS+ prompt words (it could become a recitation), and never a half-written word."""
    tokens = _tokens(text)
    end = len(text)
    if tokens and tokens[-1][2] == len(text):  # the last word may still be growing
        end = tokens.pop()[1]
    grams = _prompt_grams()
    words = [w for w, _, _ in tokens]
    for k in range(min(SPAN_WORDS - 1, len(words)), HOLD_WORDS - 1, -1):
        if tuple(words[-k:]) in grams:
            return min(end, tokens[-k][1])
    return end
