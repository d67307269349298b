"""Pure functions behind the ``docent-fake`` scripts: quoting a source, minimal JSON.

Kept apart from the provider so they can be tested without LiteLLM.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The abstention sentinel the answer prompt asks for; the ``abstain`` script returns it.

FALLBACK_SENTENCE = "The documentation describes this [1]."

# Where source n starts and where the next one does, most specific first. Prompts number
# sources as "[1] ...", "Source 1: ...", "1. ..." or <source id="1">. Line-start markers
# win over a bare "[1]" so that "cite as [1]" in an instruction is not taken for a source.
_LINE_MARK = (
    r"(?:\[{n}\]|\[(?:source|doc)\s*{n}\]|(?:source|doc|document)\s*\[?{n}\]?\b|\({n}\)|{n}[.)](?=\s))"
)
_PATTERNS = (
    (r'<source\b[^>]*?\b(?:id|n|index)\s*=\s*["\']?{n}(?!\d)["\']?[^>]*>', r"(?i)</source>|<source\b"),
    (r"(?im)^[ \t>*_#-]*" + _LINE_MARK + r"[ \t]*[:.\-\u2013]?",
     r"(?im)^[ \t>*_#-]*" + _LINE_MARK.replace("{n}", r"\d+")),
    (r"\[{n}\][ \t]*:?", r"\[\d+\]"),
)
_STOP = r"(?im)^[ \t]*(?:question|user question|query)\s*:"
_METADATA = re.compile(
    r"^\s*(?:title|url|source|path|file|section|heading|doc|document|link|page|id|score)\s*:", re.I
)
_SENTENCE = re.compile(r"(.+?[.!?])(?=\s|$)", re.S)


def _source_block(text: str, n: int = 1) -> str | None:
    for start, end in _PATTERNS:
        match = re.search(start.replace("{n}", str(n)), text)
        if match is None:
            continue
        rest = text[match.end():]
        ends = [m.start() for p in (end, _STOP) if (m := re.search(p, rest)) is not None]
        return rest[: min(ends)] if ends else rest
    return None


def _first_sentence(block: str) -> str | None:
    lines = [line.strip() for line in block.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("#") and not _METADATA.match(line)]
    # A first line without end punctuation followed by more text is a title, not prose.
    if len(lines) > 1 and not re.search(r"[.!?:]$", lines[0]):
        lines = lines[1:]
    prose = " ".join(lines).strip()
    if len(re.findall(r"[^\W\d_]{2,}", prose)) < 2:  # not prose: a bare marker or a number
        return None
    match = _SENTENCE.match(prose)
    sentence = (match.group(1) if match else prose).strip()
    return sentence[:400]


def echo_cite(messages: list[dict[str, Any]]) -> str:
    """Answer by quoting the first sentence of source [1], with a ``[1]`` marker.

    Looks in the user messages only, newest first (system prompts hold instructions
    such as "cite as [1]", not sources); falls back to a fixed sentence so a
    prompt-format change degrades instead of failing.
    """
    texts = [str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"]
    for text in texts:
        block = _source_block(text)
        sentence = _first_sentence(block) if block is not None else None
        if sentence:
            return f"{sentence.rstrip()} [1]"
    return FALLBACK_SENTENCE


def echo_source(messages: list[dict[str, Any]]) -> str:
    """Quote up to four prose sentences of source [1], each with its ``[1]`` marker.

    An answer of several sentences, all supported by one source: what a stream delivers
    one verified sentence at a time.
    """
    texts = [str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"]
    for text in texts:
        block = _source_block(text)
        if block is None:
            continue
        lines = [line.strip() for line in block.splitlines()]
        prose = " ".join(line for line in lines if line and not line.startswith(("#", "|", "```", "-", "<"))
                         and not _METADATA.match(line))
        sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", prose) if len(s.split()) >= 4][:4]
        if sentences:
            return " ".join(f"{s.rstrip('.!?')} [1]." for s in sentences)
    return FALLBACK_SENTENCE


_SOURCE_BLOCK = re.compile(r'<source\b[^>]*?\bid\s*=\s*["\']?(\d+)["\']?[^>]*>\n?(.*?)\n?</source>', re.S | re.I)


def echo_all(messages: list[dict[str, Any]]) -> str:
    """Repeat every source of the newest user message that has any, each with its marker.

    The model that leaks everything it is given: if a chunk reached the prompt, its text
    reaches the answer. Without sources (the rewrite prompt) the user message comes back
    whole. The system prompt is never repeated (that is ``echo-system``).
    """
    texts = [str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"]
    for text in texts:
        blocks = _SOURCE_BLOCK.findall(text)
        if blocks:
            return "\n\n".join(f"{body.strip()} [{n}]" for n, body in blocks)
    return texts[0] if texts else FALLBACK_SENTENCE


def echo_system(messages: list[dict[str, Any]]) -> str:
    """Recite the system prompt, as a model talked into "print your instructions" would, with a marker."""
    system = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    return f"{system.strip()} [1]" if system.strip() else FALLBACK_SENTENCE


_UNIT_ID = re.compile(r"(?m)^\[(\d+)\] ")


def pick_first(messages: list[dict[str, Any]]) -> str:
    """The extractive reply (service/extractive.py) that chooses the first unit id listed in
    the newest user message with any, as ``{"ids": [id]}``; ``{"ids": []}`` when none is listed."""
    for m in reversed(messages):
        if m.get("role") == "user" and (found := _UNIT_ID.search(str(m.get("content") or ""))):
            return f'{{"ids": [{found.group(1)}]}}'
    return '{"ids": []}'


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for key in ref[2:].split("/"):
            node = node.get(key, {}) if isinstance(node, Mapping) else {}
        return node if isinstance(node, Mapping) else {}
    return schema


def minimal_json(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """The smallest value that satisfies a (simple) JSON schema: required keys only."""
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return minimal_json(schema[key][0], root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: minimal_json(props.get(name, {}), root) for name in schema.get("required", [])}
    simple: dict[str, Any] = {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}
    return simple.get(kind)


def schema_of(response_format: Any) -> Mapping[str, Any] | None:
    """The JSON schema inside an OpenAI or llama.cpp style ``response_format``, if any."""
    if not isinstance(response_format, Mapping):
        return None
    if isinstance(response_format.get("schema"), Mapping):
        return response_format["schema"]  # type: ignore[no-any-return]
    spec = response_format.get("json_schema")
    if isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping):
        return spec["schema"]  # type: ignore[no-any-return]
    return None
