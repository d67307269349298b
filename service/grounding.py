"""The grounding verifier: every sentence shown must be supported by the source it cites.

``service/citations.py`` checks that markers point at real sources. This module checks
what the marked sentence says against what that source says, in milliseconds and
without a judge model:

- **Specific tokens** (numbers, versions, paths, names with dots, dashes or
  underscores), **quoted or emphasised UI labels** (``"Save"``, ``**Add account**``,
  ```` `--port` ````) and every segment of a **menu path** (``Settings > Account``) must
  appear in the cited source. A 1.5B model's favourite inventions are exactly these.
- **Content words** (stemmed, without stop words and generic UI verbs) must be in the
  cited source at ``min_support`` or more. Short items are claims too: a step of three
  content words or fewer needs all of them, so "Navigate to the Settings section."
  fails where the source never says "section" (one may differ when the step is
  anchored on a specific token or label that the source has).
- A sentence whose support is borderline (``borderline_support`` up to ``min_support``)
  passes when its embedding is close to one of the source's sentences
  (``min_similarity``): a frontier model's paraphrase is not an invention.
- **Numbered steps** citing the same source must follow that source's order.

Unmarked sentences are checked against the best retrieved source. Headings, short
lead-ins ending with ":" and lines with no content words are structure, not claims;
lead-ins still need their specific tokens and labels. See ARCHITECTURE.md for how the
thresholds were chosen on the labelled development set (``bench/grounding.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from service.citations import MARKER, content_words, is_specific, split_sentences

Embed = Callable[[list[str]], np.ndarray]  # unit-length rows, one per text
Kind = Literal["claim", "step", "structure", "code"]

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|(\d{1,2})[.)])\s+")
_LABELS = re.compile(r"\*\*([^*\n]{1,80})\*\*|`([^`\n]{1,80})`|\"([^\"\n]{1,80})\"|[“«]([^”»\n]{1,80})[”»]")
_PATH_SEP = re.compile(r"\s*(?:>|→|»|->)\s*")
_MARKUP = re.compile(r"[*_`#>]+")
# Polarity: "Pylon never deletes it" and "your data will be deleted" share every content word.
_NEGATION = re.compile(r"\b(?:not|no|never|cannot|none|nothing|neither|nor)\b|n't\b|n’t\b")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>\n]{0,200}>")
# Verbs every how-to uses: they say nothing a source must confirm.
_UI_VERBS = frozenset({
    "click", "tap", "select", "choose", "press", "navigate", "open", "go", "enter", "type", "find", "scroll",
    "toggle", "then", "next", "first", "finally", "step", "steps", "make", "sure", "able", "need", "want",
    "like",
})
MIN_WORDS_FOR_SHARE = 4  # below this, every content word must be in the source
# "To reset it:" introduces. A longer lead-in is checked like a claim: "To share your screen
# during a call, follow these steps:" before the steps for starting a call is the invention.
MAX_LEAD_IN_WORDS = 8


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How much support a claim needs; the defaults come from ``bench/grounding.py``."""

    min_support: float = 0.75
    borderline_support: float = 0.5
    min_similarity: float = 0.7


@dataclass(frozen=True, slots=True)
class Claim:
    """One sentence (or list item, or code block) of an answer and its verdict."""

    text: str
    start: int  # span in the verified text
    end: int
    kind: Kind
    sources: tuple[int, ...]  # the valid markers it carries (1-based); empty when unmarked
    supported: bool
    support: float = 1.0  # share of its content words found in the best cited source
    similarity: float | None = None  # embedding similarity, when support was borderline
    missing: tuple[str, ...] = ()  # specific tokens or labels the source lacks
    reason: str = ""  # why it failed: missing, low_support, order, no_source

    @property
    def bare(self) -> str:
        """The sentence without its markers, as the console lists it."""
        return _LIST_ITEM.sub("", MARKER.sub("", self.text)).strip()

    @property
    def checked(self) -> bool:
        return self.kind != "structure"


@dataclass(frozen=True, slots=True)
class Grounding:
    """The verdicts for one answer, and its text with the unsupported sentences removed."""

    text: str
    claims: tuple[Claim, ...] = field(default_factory=tuple)

    @property
    def unsupported(self) -> list[str]:
        return [c.bare for c in self.claims if not c.supported]

    @property
    def score(self) -> float | None:
        """Supported share of the checked claims; None when nothing was checked."""
        checked = [c for c in self.claims if c.checked]
        return sum(c.supported for c in checked) / len(checked) if checked else None


def _stem(word: str) -> str:
    # Enough to match "settings"/"setting" and "enabled"/"enable"; not a linguistic stemmer.
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def _normal(text: str) -> str:
    return " ".join(_MARKUP.sub(" ", text).lower().split())


@dataclass(slots=True)
class _Source:
    text: str
    normal: str
    tokens: set[str]
    stems: set[str]
    lines: list[set[str]]  # stems of each sentence, for step order and polarity
    sentences: list[str]
    negated: list[bool]  # whether each sentence says "not", "never", "cannot", ...
    vectors: np.ndarray | None = None


def _source(text: str) -> _Source:
    sentences = [s for s in split_sentences(text) if not s.startswith("```")]
    tokens = set(content_words(text, keep_short=True))
    tokens |= {part for t in tokens if "." in t for part in t.split(".") if part}  # proxy.password -> proxy
    return _Source(text, _normal(text), tokens, {_stem(t) for t in tokens},
                   [{_stem(w) for w in content_words(s)} for s in sentences], sentences,
                   [_negative(s) for s in sentences])


def _nested_key(token: str, tokens: set[str]) -> bool:
    """``proxy.password_file`` is in a source that writes it as nested YAML or TOML keys."""
    parts = token.split(".")
    return len(parts) > 1 and any(c.isalpha() for c in token) and all(p in tokens for p in parts if p)


def _negative(text: str) -> bool:
    return bool(_NEGATION.search(text.lower()))


def _labels(bare: str) -> list[str]:
    found = [next(g for g in m.groups() if g) for m in _LABELS.finditer(bare)]
    # HTML tags (icons, <kbd>) are markup: their ">" is no menu-path separator.
    for part in re.split(r"[,;:()]", _MARKUP.sub("", _HTML_TAG.sub(" ", bare))):
        segments = _PATH_SEP.split(part.strip())
        if len(segments) > 1:  # a menu path: every segment is a label
            found += [s.strip(" .") for s in segments if s.strip(" .")]
    return [f for f in (x.strip() for x in found) if f]


def _classify(sentence: str, bare: str) -> Kind:
    if sentence.startswith("```"):
        return "code"
    if bare.startswith("#") or not content_words(bare):
        return "structure"
    if bare.rstrip().endswith(":") and len(bare.split()) <= MAX_LEAD_IN_WORDS:
        return "structure"
    match = _LIST_ITEM.match(sentence)
    return "step" if match and match.group(1) else "claim"


class Verifier:
    """Checks answers against the sources of one prompt (source ``n`` is ``sources[n-1]``)."""

    def __init__(self, sources: Sequence[str], *, thresholds: Thresholds | None = None,
                 embed: Embed | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._sources = [_source(s) for s in sources]
        self._embed = embed
        self._cache: dict[str, float] = {}

    def verify(self, text: str) -> Grounding:
        """Verdicts for every sentence of ``text``, and ``text`` without the unsupported ones."""
        claims: list[Claim] = []
        cursor = 0
        last_step: dict[int, int] = {}  # source -> position of the previous numbered step citing it
        for sentence in split_sentences(text):
            start = text.find(sentence, cursor)
            if start < 0:
                continue
            cursor = end = start + len(sentence)
            claim = self._claim(sentence, start, end)
            if claim.kind == "step" and claim.supported and len(claim.sources) == 1:
                n = claim.sources[0]
                pos = self._position(sentence, n, last_step.get(n, 0))
                if pos is None:
                    claim = _fail(claim, "order")
                else:
                    last_step[n] = pos
            claims.append(claim)
        return Grounding(_remove(text, [c for c in claims if not c.supported]), tuple(claims))

    def _claim(self, sentence: str, start: int, end: int) -> Claim:
        bare = _LIST_ITEM.sub("", MARKER.sub("", sentence)).strip()
        kind = _classify(sentence, bare)
        n_sources = len(self._sources)
        cited = tuple(dict.fromkeys(int(n) for g in MARKER.findall(sentence) for n in g.split(",")
                                    if 1 <= int(n) <= n_sources))
        base = Claim(sentence, start, end, kind, cited, True)
        if kind == "code":
            return self._code(base, sentence)
        candidates = list(cited) or list(range(1, n_sources + 1))
        if not candidates:
            return _fail(base, "no_source") if kind != "structure" else base
        verdicts = [self._against(bare, kind, n) for n in candidates]
        if cited and len(cited) > 1:  # "[1][3]": the union of the cited sources must support it
            verdicts.append(self._against(bare, kind, *cited))
        best = max(verdicts, key=lambda v: (v[0], v[1]))
        ok, support, similarity, missing, reason = best
        return Claim(sentence, start, end, kind, cited, ok, support, similarity, tuple(missing), reason)

    def _against(self, bare: str, kind: Kind, *numbers: int) -> tuple[bool, float, float | None, list[str], str]:
        sources = [self._sources[n - 1] for n in numbers]
        normal = " ".join(s.normal for s in sources)
        tokens = set().union(*(s.tokens for s in sources))
        stems = set().union(*(s.stems for s in sources))
        words = content_words(bare, keep_short=True)
        specific = [w for w in words if is_specific(w)]
        labels = _labels(bare)
        missing = [w for w in specific if w not in tokens and w not in normal and not _nested_key(w, tokens)]
        missing += [label for label in labels if _normal(label) not in normal
                    and not _nested_key(label.lower(), tokens)]
        content = [w for w in words if w not in _UI_VERBS]
        found = sum(_stem(w) in stems or _nested_key(w, tokens) for w in content)
        support = found / len(content) if content else 1.0
        if missing:
            return False, support, None, missing, "missing"
        if kind == "structure":
            return True, support, None, [], ""
        t = self.thresholds
        need = t.min_support
        if len(content) < MIN_WORDS_FOR_SHARE:
            # A short claim needs every word, unless it is anchored on a setting, path or label
            # the source has ("Store it in `proxy.password_file`."): then one verb may differ.
            need = 1.0 if not (specific or labels) else (len(content) - 1) / len(content)
        if support >= need:
            if self._flips_polarity(bare, content, sources):
                return False, support, None, [], "negation"
            return True, support, None, [], ""
        if len(content) >= MIN_WORDS_FOR_SHARE and support >= t.borderline_support and self._embed is not None:
            similarity = self._similarity(bare, numbers)
            if similarity >= t.min_similarity:
                return True, support, similarity, [], ""
            return False, support, similarity, [], "low_support"
        return False, support, None, [], "low_support"

    @staticmethod
    def _flips_polarity(bare: str, content: list[str], sources: list[_Source]) -> bool:
        """Whether the source sentence the claim is made of says the opposite (one is negated).

        Only for a clear match (most of the claim's words in one source sentence): a claim
        assembled from several sentences has no single one to compare with.
        """
        words = {_stem(w) for w in content}
        if len(words) < 3:
            return False
        best, negated = 0, False
        for source in sources:
            for line, neg in zip(source.lines, source.negated, strict=True):
                overlap = len(words & line)
                if overlap > best:
                    best, negated = overlap, neg
        return best >= 0.6 * len(words) and negated != _negative(bare)

    def _similarity(self, bare: str, numbers: tuple[int, ...]) -> float:
        assert self._embed is not None
        key = f"{numbers}:{bare}"
        if key not in self._cache:
            best = 0.0
            query = self._embed([bare])[0]
            for n in numbers:
                source = self._sources[n - 1]
                if source.vectors is None:
                    source.vectors = self._embed(source.sentences) if source.sentences else np.zeros((0, 1))
                if len(source.vectors):
                    best = max(best, float(np.max(source.vectors @ query)))
            self._cache[key] = best
        return self._cache[key]

    def _code(self, base: Claim, block: str) -> Claim:
        # A code block must come from one source nearly token for token.
        words = content_words(block.strip("`"), keep_short=True)
        if not words:
            return base
        support = max((sum(w in s.tokens for w in words) / len(words) for s in self._sources), default=0.0)
        if support >= 0.9:
            return Claim(base.text, base.start, base.end, "code", base.sources, True, support)
        return Claim(base.text, base.start, base.end, "code", base.sources, False, support, reason="low_support")

    def _position(self, sentence: str, n: int, after: int) -> int | None:
        """Where the step is in source ``n`` at or after the previous step; None if it only
        matches earlier (out of order). Sources repeat steps (one procedure per tab), so the
        first match at or after ``after`` that is as good as any is taken."""
        words = {_stem(w) for w in content_words(MARKER.sub("", sentence))}
        scores = [len(words & line) for line in self._sources[n - 1].lines]
        if not scores or max(scores) == 0:
            return after
        best = max(scores)
        return next((i for i in range(after, len(scores)) if scores[i] == best), None)


def _fail(claim: Claim, reason: str) -> Claim:
    return Claim(claim.text, claim.start, claim.end, claim.kind, claim.sources, False, claim.support,
                 claim.similarity, claim.missing, reason)


def _remove(text: str, failed: list[Claim]) -> str:
    """``text`` without the failed spans; a list item that fails takes its line with it.

    Only the cuts are tidied: code indentation and table alignment elsewhere stay as written.
    """
    if not failed:
        return text
    out, pos = [], 0
    for claim in failed:
        start, end = claim.start, claim.end
        line_start = text.rfind("\n", 0, start) + 1
        if _LIST_ITEM.match(text[line_start:end]):
            start = line_start
            end += text[end:end + 1] == "\n"
        else:
            while end < len(text) and text[end] in " \t":  # "A. B. C." without B is "A. C."
                end += 1
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    kept = re.sub(r"[ \t]+\n", "\n", "".join(out))
    return re.sub(r"\n{3,}", "\n\n", kept).strip()
