"""Planted answers for bench/grounding.py: one-sentence answers made from a question's sources.

Everything is made at run time from the retrieved source texts, reproducibly (a
``random.Random`` seeded with the seed and the question id). For each question, the
sentences come from its gold source when the gold section is among the hits, else from
the top hit; ``n`` is that source's marker. Kinds and labels:

supported
    ``verbatim``: a prose sentence of the source, with ``[n]`` (two per question).
    ``paraphrase``: one made by code: a leading "If/When/... A, B" clause moved to the end,
    a parenthesis dropped, or a phrase swapped ("You can" -> "It is possible to").
    ``reworded``: content words replaced by synonyms ("message" -> "post", "parameter" ->
    "argument"): a frontier model's paraphrase, the case the embedding signal is for.
    ``truncated``: only the part before ", and" or ";" (fewer claims, all supported).
unsupported
    ``number``: a number or version of a source sentence changed to one no source has.
    ``invented_label``: "Click **<Label>** [n]." (or "Set `<name>` ...") with a label no source has.
    ``invented_step``: a plausible step in generic words the sources do not state.
    ``wrong_section``: a sentence from another page (not among the hits) cited as ``[n]``.
    ``near_section``: the sentence of another page sharing most words with source ``n``.
    ``negated``: a source sentence negated ("can" -> "cannot", "is" -> "is not", or back).
    ``swapped_term``: one term swapped for its counterpart ("administrators" -> "members",
    "desktop" -> "mobile", "request" -> "response", "before" -> "after").
    ``old_example``: "The agent listens on port 7400 [1]." (the prompt's old example; every third question).
    ``renamed_label``: a source sentence whose **label**, `name` or "label" is replaced by a
    label of another page that no source has.

A prose sentence is a paragraph's text (lines joined, list markers dropped) cut at ". ",
6 to 40 words, outside code, tables, HTML and admonition lines.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

SUPPORTED = ("verbatim", "paraphrase", "reworded", "truncated")
UNSUPPORTED = ("number", "invented_label", "invented_step", "wrong_section", "near_section", "old_example",
               "renamed_label", "negated", "swapped_term")
OLD_EXAMPLE = "The agent listens on port 7400 [1]."

_CUT = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"])")
_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,2}[.)])\s+")
_BAD = re.compile(r"[<>{}|\[\]]|!!!|^\s*#|https?://")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)(?![\w]|\.\d)")
_LABEL = re.compile(r"\*\*([^*\n]{2,60})\*\*|`([^`\n]{2,60})`|\"([^\"\n]{2,60})\"")
_LEAD = re.compile(r"^(If|When|Once|After|Before|Unless|While) ([^,]{3,80}), (.{12,})\.$")
_SWAPS = ((r"\bYou can\b", "It is possible to"), (r"\ballows you to\b", "lets you"),
          (r"\bin order to\b", "to"), (r"\bmake sure\b", "ensure"), (r"\bautomatically\b", "on its own"))
_INVENTED_LABELS = ("Sync now", "Advanced sharing", "Apply workspace defaults", "Manage integrations",
                    "Confirm and continue", "Reset preferences", "Export audit log", "Enable smart routing")
_INVENTED_NAMES = ("enable_auto_retry", "strict_mode_default", "max_pool_workers", "cache_ttl_seconds",
                   "auto_reload_config", "allow_legacy_tokens")
_INVENTED_STEPS = ("Restart the application so that the new settings take effect",
                   "Log out and log back in to apply the change",
                   "An administrator has to approve the request before it takes effect",
                   "Clear your browser cache and reload the page after saving",
                   "Contact support to have this option enabled for your account",
                   "Run the migration command once before starting the server again")


_SYNONYMS = {"message": "post", "messages": "posts", "delete": "remove", "deleted": "removed",
             "organization": "workspace", "click": "select", "menu": "dropdown", "settings": "preferences",
             "setting": "option", "create": "make", "user": "person", "users": "people", "modify": "change",
             "view": "see", "shows": "displays", "show": "display", "choose": "pick", "button": "control",
             "parameter": "argument", "parameters": "arguments", "function": "handler", "declare": "define",
             "returns": "gives back", "automatically": "on its own", "receive": "get", "allows": "lets",
             "start": "begin", "easy": "simple", "file": "document", "app": "application",
             "request": "call", "default": "standard", "option": "choice", "information": "details"}
_PAIRS = (("administrators", "members"), ("administrator", "member"), ("admins", "members"),
          ("owners", "moderators"), ("owner", "moderator"), ("desktop", "mobile"), ("public", "private"),
          ("enable", "disable"), ("enabled", "disabled"), ("before", "after"), ("always", "never"),
          ("request", "response"), ("requests", "responses"), ("async", "sync"), ("GET", "POST"),
          ("first", "last"), ("left", "right"), ("top", "bottom"), ("older", "newer"), ("minutes", "hours"),
          ("days", "weeks"), ("header", "cookie"), ("headers", "cookies"), ("optional", "required"),
          ("sender", "recipient"), ("streams", "topics"), ("stream", "topic"), ("send", "receive"),
          ("query", "body"), ("client", "server"))
_SWAP = {**dict(_PAIRS), **{b: a for a, b in _PAIRS}}
_SWAP_RE = re.compile(r"\b(" + "|".join(sorted(_SWAP, key=len, reverse=True)) + r")\b", re.I)
_NEGATIONS = ((r"\bcannot\b", "can"), (r"\bcan't\b", "can"), (r"\b(is|are|does|do|will|must|should) not\b", r"\1"),
              (r"\bcan\b", "cannot"), (r"\b(is|are|will|must|should)\b", r"\1 not"))
_WORD = re.compile(r"[a-z][a-z0-9_]{3,}")


def _case(old: str, new: str) -> str:
    return new[0].upper() + new[1:] if old[0].isupper() else new


def reword(sentence: str) -> str | None:
    """Content words swapped for synonyms (None unless at least one was)."""
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        word = m.group(0)
        if word.lower() in _SYNONYMS and "`" not in word:
            count += 1
            return _case(word, _SYNONYMS[word.lower()])
        return word

    out = re.sub(r"(?<![`*\w])[A-Za-z]+(?![`*\w])", sub, sentence)
    return out if count else None


def truncate(sentence: str) -> str | None:
    for cut in (", and ", "; "):
        head = sentence.split(cut, 1)[0]
        if head != sentence and len(head.split()) >= 6:
            return head.rstrip(",;") + "."
    return None


def negate(sentence: str) -> str | None:
    for pattern, repl in _NEGATIONS:
        out = re.sub(pattern, repl, sentence, count=1)
        if out != sentence:
            return out
    return None


def swap_term(sentence: str) -> str | None:
    for match in _SWAP_RE.finditer(sentence):
        old = match.group(1)
        new = _SWAP.get(old) or _SWAP.get(old.lower())
        if new:
            return sentence[: match.start()] + _case(old, new) + sentence[match.end():]
    return None


def _overlap(sentence: str, words: set[str]) -> float:
    mine = set(_WORD.findall(sentence.lower()))
    return len(mine & words) / len(mine) if mine else 0.0


@dataclass(frozen=True, slots=True)
class Planted:
    kind: str
    text: str  # the one-sentence answer, with its marker

    @property
    def label(self) -> str:
        return "supported" if self.kind in SUPPORTED else "unsupported"


def normal(text: str) -> str:
    return " ".join(re.sub(r"[*_`#>]+", " ", text).lower().split())


def prose_sentences(source: str) -> list[str]:
    """The prose sentences of one source text (see the module doc)."""
    out: list[str] = []
    in_code = False
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            text = " ".join(paragraph)
            for s in _CUT.split(text):
                s = s.strip()
                if (6 <= len(s.split()) <= 40 and s.endswith(".") and not _BAD.search(s)
                        and (s[0].isupper() or s[0].isdigit() or s.startswith(("`", "**", '"')))):
                    out.append(s)
            paragraph.clear()

    for line in source.splitlines():
        if line.strip().startswith(("```", "~~~")):
            in_code = not in_code
            flush()
            continue
        if in_code or not line.strip() or _BAD.search(line) or line.startswith("    "):
            flush()
            continue
        if _LIST.match(line):
            flush()
            line = _LIST.sub("", line)
        paragraph.append(line.strip())
    flush()
    return out


def cite(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final full stop."""
    body = sentence.rstrip()
    body = body[:-1] if body.endswith(".") else body
    return f"{body} [{n}]."


def paraphrase(sentence: str) -> str | None:
    """A light rewording that keeps every claim (None when no rule applies)."""
    match = _LEAD.match(sentence)
    if match:
        lead, cond, rest = match.groups()
        return f"{rest[0].upper()}{rest[1:]} {lead.lower()} {cond}."
    dropped = re.sub(r"\s*\([^()]{2,80}\)", "", sentence)
    if dropped != sentence and len(dropped.split()) >= 6:
        return dropped
    for pattern, repl in _SWAPS:
        swapped = re.sub(pattern, repl, sentence, count=1)
        if swapped != sentence:
            return swapped
    first, _, rest = sentence.partition(" ")
    if first in ("The", "You", "This", "It", "Your", "A", "An", "To", "There"):
        return f"Note that {first.lower()} {rest}"
    return None


def _bump(token: str, present: str) -> str | None:
    parts = token.split(".")
    for step in (1, 2, 3, 5, 10):
        if len(parts) > 1:
            new = ".".join([*parts[:-1], str(int(parts[-1]) + step)])
        else:
            value = int(token)
            new = str(value + step if value < 10 else value * (step + 1))
        if not re.search(rf"(?<![\w.]){re.escape(new)}(?![\w]|\.\d)", present):
            return new
    return None


def labels_in(sentence: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _LABEL.finditer(sentence)]


def ui_labels(text: str) -> list[str]:
    """Labels that read like UI text ("Show counts for starred messages"), for renaming."""
    return [x for x in labels_in(text) if re.fullmatch(r"[A-Z][A-Za-z' ]{2,40}", x) and len(x.split()) <= 6]


def plant(qid: str, seed: int, sources: Sequence[str], n: int, foreign: Sequence[str],
          label_pool: Sequence[str]) -> list[Planted]:
    """The planted answers of one question; ``n`` is the 1-based marker of the chosen source,
    ``foreign`` prose sentences of pages not among the hits, ``label_pool`` labels of other pages."""
    rng = random.Random(f"{seed}:{qid}")
    present = " ".join(normal(s) for s in sources)
    own = prose_sentences(sources[n - 1])
    others = [(i, s) for i, src in enumerate(sources, start=1) if i != n for s in prose_sentences(src)]
    pool = [(n, s) for s in own] + others  # the chosen source's sentences first
    out: list[Planted] = []
    if own:
        picked = rng.sample(own, min(2, len(own)))
        out += [Planted("verbatim", cite(s, n)) for s in picked]
        for s in [*picked, *own]:
            reworded = paraphrase(s)
            if reworded and reworded != s:
                out.append(Planted("paraphrase", cite(reworded, n)))
                break
    for kind, make in (("reworded", reword), ("truncated", truncate)):
        for s in rng.sample(own, len(own)):
            made = make(s)
            if made:
                out.append(Planted(kind, cite(made, n)))
                break
    for kind, make in (("negated", negate), ("swapped_term", swap_term)):
        for i, s in [*rng.sample([x for x in pool if x[0] == n], len(own)), *others]:
            made = make(s)
            if made and normal(made) not in present:
                out.append(Planted(kind, cite(made, i)))
                break
    with_number = [(i, s) for i, s in pool if _NUMBER.search(s)]
    for i, s in ([x for x in with_number if x[0] == n] or with_number)[:1]:
        tokens = _NUMBER.findall(s)
        token = rng.choice(tokens)
        new = _bump(token, present)
        if new is not None:
            changed = re.sub(rf"(?<![\w.]){re.escape(token)}(?![\w]|\.\d)", new, s, count=1)
            out.append(Planted("number", cite(changed, i)))
    if rng.random() < 0.5:
        fresh = [x for x in _INVENTED_LABELS if normal(x) not in present]
        if fresh:
            out.append(Planted("invented_label", f"Click **{rng.choice(fresh)}** [{n}]."))
    else:
        fresh = [x for x in _INVENTED_NAMES if x not in present]
        if fresh:
            out.append(Planted("invented_label", f"Set `{rng.choice(fresh)}` to `True` to turn this on [{n}]."))
    steps = [s for s in _INVENTED_STEPS if normal(s) not in present]
    if steps:
        out.append(Planted("invented_step", f"{rng.choice(steps)} [{n}]."))
    strangers = [s for s in foreign if normal(s) not in present]
    if strangers:
        out.append(Planted("wrong_section", cite(rng.choice(strangers), n)))
        words = set(_WORD.findall(sources[n - 1].lower()))
        near = max(strangers, key=lambda x: (_overlap(x, words), x))
        out.append(Planted("near_section", cite(near, n)))
    if int(re.sub(r"\D", "", qid) or 0) % 3 == 0:
        out.append(Planted("old_example", OLD_EXAMPLE))
    labelled = [(i, s) for i, s in pool if labels_in(s)]
    new_labels = [x for x in label_pool if normal(x) not in present]
    if labelled and new_labels:
        i, s = labelled[0] if labelled[0][0] == n else rng.choice(labelled)
        old = rng.choice(labels_in(s))
        out.append(Planted("renamed_label", cite(s.replace(old, rng.choice(new_labels), 1), i)))
    return out
