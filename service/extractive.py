"""Extractive answers: the model only chooses source sentences; Docent writes them out verbatim.

A 1.5B model asked to write an answer copies the prompt's examples and invents steps.
Asked instead to pick the ids of numbered source sentences, with its reply held to a
JSON schema by llama.cpp's grammar, it has nothing to invent with: every sentence shown
is a sentence of a source, cited with that source's ``[n]``. The grounding verifier
still checks the rendering.

There is no model-written lead-in: the first version had one, and on docs-corpus the
1.5B model used it to state the answer, wrongly ("If you cancel, the data in your bucket
will be deleted", where the chosen sentence says the opposite) in words the verifier
cannot tell from the source's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from docent.schema import Hit
from service import guard, prompts
from service.citations import split_sentences
from service.llm.chat_types import ChatMessage

Kind = Literal["sentence", "item", "step", "code", "table"]
MAX_IDS = 8  # more chosen sentences is an essay, not an answer
MAX_TABLE_CHARS = 1500  # a bigger table would crowd every other source out of the prompt
SMALL_MODEL_B = 3.0  # at or below this many billion parameters, a model picks rather than writes

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---[ \t]*(?:\n|\Z)", re.S)
_ITEM = re.compile(r"^\s*[-*+]\s+(\S.*)$")
_STEP = re.compile(r"^\s*\d{1,3}[.)]\s+(\S.*)$")
_FENCE = re.compile(r"^\s*```")
# Whole lines of site markup, not text: macros ({start_tabs}, {!include.md!}, {* file *}),
# admonition and tab markers (/// tip, !!! note, :::note), headings (shown as the section).
_JUNK = re.compile(r"^\s*(?:\{.*\}|/{3,}.*|!!!.*|:::.*|#.*)\s*$")
_MARKUP = re.compile(r"<[^>]*>|!\[[^\]]*\]\([^)]*\)|\{[^{}]*\}")
_LETTER = re.compile(r"[^\W\d_]")
_END = re.compile(r"[.!?:;]+$")
# "1.5b", "135M", "llama3:8b"; not "qwen2.5" (no unit) nor "q4_k_m" (no number before the m).
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.I)


@dataclass(frozen=True, slots=True)
class Unit:
    """One choosable piece of a source: a sentence, a list item, a step, a code block or a table."""

    id: int  # 1-based, unique across the whole prompt
    source: int  # 1-based source number (hits[source-1])
    text: str  # verbatim text from the source (list bullet / step number stripped for items)
    kind: Kind
    position: int  # order within its source


def _is_block_start(line: str) -> bool:
    return bool(_FENCE.match(line) or _STEP.match(line) or _ITEM.match(line) or _JUNK.match(line)
                or line.lstrip().startswith("|"))


def _blocks(text: str) -> list[tuple[Kind, str]]:
    """One source's text as (kind, text) in reading order."""
    lines = _FRONT_MATTER.sub("", text).split("\n")
    out: list[tuple[Kind, str]] = []
    para: list[str] = []

    def flush() -> None:
        # Docs wrap paragraphs across lines; a sentence must not be cut at a line break.
        if para:
            out.extend(("sentence", s) for s in split_sentences(" ".join(para)))
            para.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):  # a code block stays whole (to the end if the chunk cut it off)
            flush()
            end = next((k for k in range(i + 1, len(lines)) if _FENCE.match(lines[k])), len(lines) - 1)
            out.append(("code", "\n".join([line.lstrip(), *lines[i + 1:end + 1]]).rstrip()))
            i = end + 1
        elif line.lstrip().startswith("|"):
            flush()
            end = i
            while end < len(lines) and lines[end].lstrip().startswith("|"):
                end += 1
            table = "\n".join(lines[i:end]).strip()
            if len(table) <= MAX_TABLE_CHARS:
                out.append(("table", table))
            i = end
        elif not line.strip() or _JUNK.match(line):
            flush()
            i += 1
        elif match := (_STEP.match(line) or _ITEM.match(line)):
            flush()
            kind: Kind = "step" if match.re is _STEP else "item"
            body = [match.group(1).strip()]
            i += 1
            # Indented lines right below an item continue it (the docs wrap long steps).
            while i < len(lines) and lines[i][:1] in (" ", "\t") and lines[i].strip() \
                    and not _is_block_start(lines[i]):
                body.append(lines[i].strip())
                i += 1
            out.append((kind, " ".join(body)))
        else:
            para.append(re.sub(r"^(?:>\s?)+", "", line.strip()))
            i += 1
    flush()
    # Markup-only leftovers (<div>, an image, a link-less macro) are nothing to answer with.
    return [(k, t) for k, t in out if _LETTER.search(_MARKUP.sub("", t.strip("`")))]


def units(texts: list[str], *, max_units: int = 80) -> list[Unit]:
    """The answerable units of each source text, at most ``max_units`` in all.

    The cap takes units round robin by position (every source's first unit, then every
    second one, ...), so a long first source cannot starve the later ones.
    """
    per_source = [_blocks(text) for text in texts]
    picked: list[tuple[int, int]] = []
    depth = 0
    while len(picked) < max_units and any(depth < len(b) for b in per_source):
        for s, blocks in enumerate(per_source):
            if depth < len(blocks) and len(picked) < max_units:
                picked.append((s, depth))
        depth += 1
    picked.sort()  # ids ascend through each source, so the prompt reads in document order
    return [Unit(uid, s + 1, per_source[s][p][1], per_source[s][p][0], p)
            for uid, (s, p) in enumerate(picked, start=1)]


def candidates(texts: list[str]) -> list[Unit]:
    """Every answerable unit of each source text, ids ascending through the sources (no cap:
    ``service/prompt_budget.py`` chooses which of them the prompt offers)."""
    found = [(s, p, kind, text) for s, text_ in enumerate(texts) for p, (kind, text) in enumerate(_blocks(text_))]
    return [Unit(uid, s + 1, text, kind, p) for uid, (s, p, kind, text) in enumerate(found, start=1)]


def renumber(chosen: list[Unit]) -> list[Unit]:
    """``chosen`` in source order with ids 1..n: the same choice always gets the same ids."""
    ordered = sorted(chosen, key=lambda u: (u.source, u.position))
    return [Unit(uid, u.source, u.text, u.kind, u.position) for uid, u in enumerate(ordered, start=1)]


def build_messages(question: str, hits: list[Hit], units: list[Unit]) -> list[ChatMessage]:
    """System prompt first and unchanging (llama.cpp reuses its KV cache); sources list their units."""
    sources = "\n".join(
        prompts.render("source", n=str(n), title=guard.attr(str(hit.payload.get("title", ""))),
                       section=guard.attr(hit.section),
                       text="\n".join(f"[{u.id}] {guard.fence(u.text)}" for u in units if u.source == n))
        for n, hit in enumerate(hits, start=1) if any(u.source == n for u in units)
    )
    return [
        {"role": "system", "content": prompts.render("extract_system")},
        {"role": "user", "content": prompts.render("extract_user", sources=sources, question=question)},
    ]


def response_format(units: list[Unit]) -> dict[str, Any]:
    """The reply's JSON schema: only listed ids can be written (llama.cpp compiles it to a grammar)."""
    ids = [u.id for u in units]
    # An empty enum is no grammar at all; with nothing to choose, only an empty list is valid.
    items: dict[str, Any] = {"type": "integer", "enum": ids} if ids else {"type": "integer"}
    schema = {"type": "object", "properties": {
        "ids": {"type": "array", "items": items, "maxItems": MAX_IDS if ids else 0},
    }, "required": ["ids"]}
    return {"type": "json_schema", "json_schema": {"name": "extract", "schema": schema}}


def parse(reply: str, units: list[Unit]) -> list[int] | None:
    """The chosen ids (listed, deduplicated, at most MAX_IDS); None when unparsable.

    Lenient about what a provider without grammars adds: code fences, prose around the
    object, a bare list, ids written as strings.
    """
    text = re.sub(r"^\s*```[a-zA-Z]*\s*|\s*```\s*$", "", reply.strip())
    start, end = text.find("{"), text.rfind("}")
    try:
        data: Any = json.loads(text[start:end + 1] if 0 <= start < end else text)
    except ValueError:
        # Cut off by the token cap after the ids (a provider without grammars rambling on).
        cut = re.search(r'"ids"\s*:\s*\[([\d\s,]*)\]', text)
        if cut is None:
            return None
        data = {"ids": [int(n) for n in re.findall(r"\d+", cut.group(1))]}
    if isinstance(data, list):
        data = {"ids": data}
    if not isinstance(data, dict) or not isinstance(data.get("ids"), list):
        return None
    valid = {u.id for u in units}
    ids: list[int] = []
    for raw in data["ids"]:
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw)
        if isinstance(raw, int) and not isinstance(raw, bool) and raw in valid and raw not in ids:
            ids.append(raw)
    return ids[:MAX_IDS]


def _cite(text: str, n: int) -> str:
    """Every sentence of ``text`` with `` [n]`` before its final punctuation (as citations.check reads it)."""
    out = []
    for sentence in split_sentences(text):
        end = _END.search(sentence)
        out.append(f"{sentence[:end.start()]} [{n}]{end.group()}" if end else f"{sentence} [{n}]")
    return " ".join(out)


def _render_source(chosen: list[Unit]) -> list[str]:
    n = chosen[0].source
    cited = any(u.kind not in ("code", "table") for u in chosen)  # then the source is cited already
    blocks: list[str] = []
    run: list[Unit] = []

    def close() -> None:
        if not run:
            return
        if run[0].kind == "sentence":
            blocks.append(" ".join(_cite(u.text, n) for u in run))
        elif run[0].kind == "item":
            blocks.append("\n".join(f"- {_cite(u.text, n)}" for u in run))
        else:  # steps renumbered: the source's own numbers may skip the ones not chosen
            blocks.append("\n".join(f"{k}. {_cite(u.text, n)}" for k, u in enumerate(run, start=1)))
        run.clear()

    for unit in chosen:
        if run and run[0].kind != unit.kind:
            close()
        if unit.kind == "code":
            # Closed even when the chunk cut it, so the rest of the answer is not swallowed.
            code = unit.text if unit.text.count("```") >= 2 else unit.text + "\n```"
            blocks += [code] if cited else [code, f"[{n}]"]
        elif unit.kind == "table":
            # The marker goes above: a line right under a table would read as one of its rows.
            blocks += [unit.text] if cited else [f"[{n}]", unit.text]
        else:
            run.append(unit)
    close()
    return blocks


def render(units: list[Unit], ids: list[int]) -> str:
    """The chosen units verbatim with ``[n]`` markers; each source's units in source order,
    sources in order of first choice. A unit whose text was already chosen from another
    source (chunks overlap, pages repeat themselves) is shown once."""
    by_id = {u.id: u for u in units}
    seen: set[str] = set()
    chosen = []
    for i in dict.fromkeys(ids):
        unit = by_id.get(i)
        key = " ".join(unit.text.lower().split()) if unit else ""
        if unit is not None and key not in seen:
            seen.add(key)
            chosen.append(unit)
    chosen = chosen[:MAX_IDS]
    if not chosen:
        return ""
    blocks: list[str] = []
    for source in dict.fromkeys(u.source for u in chosen):
        blocks += _render_source(sorted((u for u in chosen if u.source == source), key=lambda u: u.position))
    return "\n\n".join(blocks)


def _size_b(name: str) -> float | None:
    match = _SIZE.search(name)
    if match is None:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2).lower() == "m" else value


def resolve_mode(mode: str, model: str) -> Literal["extractive", "generative"]:
    """``auto``: extractive for models of SMALL_MODEL_B or fewer parameters (the size in the
    model's name), and for ``docent-local`` models of unknown size (local models here are small)."""
    if mode == "extractive":
        return "extractive"
    if mode == "generative":
        return "generative"
    if mode != "auto":
        raise ValueError(f"answer mode must be auto, extractive or generative, not {mode!r}")
    provider, _, rest = model.partition("/")
    size = _size_b((rest or provider).rstrip("/").rsplit("/", 1)[-1])  # a GGUF path: its file name
    if size is not None:
        return "extractive" if size <= SMALL_MODEL_B else "generative"
    return "extractive" if provider == "docent-local" else "generative"
