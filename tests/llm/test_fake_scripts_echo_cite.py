"""The pure scripts behind docent-fake: quoting source [1], abstaining, minimal JSON."""

from __future__ import annotations

from typing import Any

import pytest

from service.prompts import NOT_IN_DOCS
from tests.fakes.llm_scripts import FALLBACK_SENTENCE, echo_cite, minimal_json, schema_of

INSTRUCTIONS = {"role": "system", "content": "Cite sources as [1]. Answer briefly."}


def _ask(user: str) -> str:
    return echo_cite([INSTRUCTIONS, {"role": "user", "content": user}])


@pytest.mark.parametrize(
    "user",
    [
        "Sources:\n[1] Install guide\nDocent needs Python 3.11. Run make install.\n[2] Other\nNo.",
        "[1]: Docent needs Python 3.11. More text.\n[2]: Something else.",
        "Source 1: Docent needs Python 3.11. Then more.\nSource 2: No.",
        "1. Docent needs Python 3.11. Yes.\n2. Other.",
        '<source id="1">\nTitle: Install\nURL: /docs/install\nDocent needs Python 3.11. Then.</source>',
        '<source id="10" title="Ten">\nNot this one.\n</source>\n'
        '<source id="1" title="Install" section="Python">\nDocent needs Python 3.11. Then.\n</source>',
        "Context: [1] Docent needs Python 3.11. [2] Other.",
        "[1] (docs/install.md#python)\n## Python\nDocent needs Python 3.11.\n\nQuestion: which?",
    ],
)
def test_echo_cite_quotes_first_sentence_of_source_one(user: str) -> None:
    """Whatever the numbering style, the answer is source [1]'s first sentence plus [1]."""
    assert _ask(user) == "Docent needs Python 3.11. [1]"


def test_echo_cite_without_sources_falls_back_to_fixed_sentence() -> None:
    """No recognisable source [1] (the instruction's "[1]" does not count) gives the fixed sentence."""
    assert _ask("What is Docent?") == FALLBACK_SENTENCE
    assert "[1]" in FALLBACK_SENTENCE


def test_not_in_docs_is_the_documented_phrase() -> None:
    """The abstention phrase is the constant the answer prompt asks for."""
    assert NOT_IN_DOCS == "NOT_IN_DOCS"


def test_minimal_json_fills_required_fields_through_refs() -> None:
    """minimal_json satisfies required properties, following $ref and anyOf."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "verdict": {"type": "integer"},
            "reason": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "items": {"$ref": "#/$defs/Items"},
            "optional": {"type": "string"},
        },
        "required": ["verdict", "reason", "items"],
        "$defs": {"Items": {"type": "array", "items": {"type": "string"}}},
    }
    assert minimal_json(schema) == {"verdict": 0, "reason": "", "items": []}


def test_schema_of_reads_openai_and_llamacpp_shapes() -> None:
    """Both response_format spellings yield the schema; plain json_object yields none."""
    schema = {"type": "object"}
    assert schema_of({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}) == schema
    assert schema_of({"type": "json_object", "schema": schema}) == schema
    assert schema_of({"type": "json_object"}) is None
