"""Heading attribute lists (``## Setup { #setup }``): stripped from the text, the id is the anchor."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.documents import Document, read_document
from ingest.headings import parse_heading, parse_heading_id, split_attributes
from ingest.markdown_splitter import sections, split
from ingest.pipeline import chunk_document
from ingest.visibility import DEFAULT_POLICY
from service.docs_render import render_markdown, render_page
from tests.security.test_redos import BIG, SMALL, _too_slow


@pytest.mark.parametrize(("line", "expected"), [
    ("## Use CORSMiddleware { #use-corsmiddleware }", (2, "Use CORSMiddleware", "use-corsmiddleware")),
    ("## Setup {#setup}", (2, "Setup", "setup")),
    ("### Use `CORSMiddleware` { #use-cors .tip }", (3, "Use `CORSMiddleware`", "use-cors")),
    ("## Opts {.cls #opts data-x=1}", (2, "Opts", "opts")),
    ("## Kramdown {: #kd }", (2, "Kramdown", "kd")),
    ("## Closed ## {#closed}", (2, "Closed", "closed")),
    ("# C# {#csharp}", (1, "C#", "csharp")),
    ("## Plain", (2, "Plain", "")),
])
def test_attribute_list_with_id_is_stripped(line: str, expected: tuple[int, str, str]) -> None:
    """A trailing well-formed ``{...}`` holding an ``#id`` leaves the text; the id is returned."""
    assert parse_heading_id(line) == expected
    assert parse_heading(line) == expected[:2]


@pytest.mark.parametrize("line", [
    "## The {name} placeholder",      # a brace that is part of the title
    "## Ends with {name}",            # well-placed, but no #id
    "## Only classes {.a .b}",        # no #id: not ours to strip
    "## Unclosed { #x",               # not closed
    "## Not last { #x } here",        # not at the very end
    "## Glued{#x}",                   # `{` must follow whitespace
    "## Bad token { #x y }",          # `y` is neither #id, .class nor key=value
    "## Empty id { # }",
    "## Odd id { #a<b }",             # ids go into URLs and id attributes
    "## Nested { #a {#b} }",
    "## Set `{#x}`",                  # inside a code span
])
def test_other_braces_stay_in_the_heading(line: str) -> None:
    """Anything but a well-formed trailing list with an id is heading text, as before."""
    level, text, anchor = parse_heading_id(line)  # type: ignore[misc]
    assert (level, text, anchor) == (2, line[3:], "")


def test_split_attributes_edge_cases() -> None:
    assert split_attributes("{#only}") == ("", "only")
    assert split_attributes("Two ids {#a #b}") == ("Two ids", "a")
    assert split_attributes("x {#" + "a" * 500 + "}") == ("x {#" + "a" * 500 + "}", "")  # over-long id


def test_sections_use_explicit_id_as_anchor_and_clean_heading_path() -> None:
    body = ("# Guide { #guide }\n\nIntro.\n\n## Use CORSMiddleware { #use-corsmiddleware }\n\nText.\n\n"
            "## The {name} placeholder\n\nMore.\n\n## Setup\n\nA.\n\n## Setup\n\nB.\n")
    got = [(s.heading_path, s.anchor) for s in sections(body, "Guide")]
    assert got == [
        (("Guide",), "guide"),
        (("Guide", "Use CORSMiddleware"), "use-corsmiddleware"),
        (("Guide", "The {name} placeholder"), "the-name-placeholder"),
        (("Guide", "Setup"), "setup"),
        (("Guide", "Setup"), "setup-1"),
    ]
    assert all("{ #" not in p.text for p in split(body, "Guide"))


def test_explicit_id_counts_for_later_duplicates() -> None:
    """An explicit id takes its name; a later heading slugging to it is de-duplicated."""
    anchors = [s.anchor for s in sections("## First {#setup}\n\na\n\n## Setup\n\nb\n", "T")]
    assert anchors == ["setup", "setup-1"]


def test_rendered_docs_page_ids_match_chunk_urls(tmp_path: Path) -> None:
    """The /docs page gives each heading the id its chunks' citation URLs end in."""
    page = tmp_path / "tutorial" / "cors.md"
    page.parent.mkdir()
    page.write_text("# CORS { #cors-cross-origin-resource-sharing }\n\nIntro text.\n\n"
                    "## Use `CORSMiddleware` { #use-corsmiddleware }\n\nAdd the middleware.\n\n"
                    "## The {name} placeholder\n\nBraces stay.\n\n## Setup {#setup .x}\n\nSteps.\n",
                    encoding="utf-8")
    doc = read_document(page, tmp_path, "/docs", DEFAULT_POLICY)
    assert isinstance(doc, Document)
    assert doc.title == "CORS"
    chunks = list(chunk_document(doc).values())
    anchors = [c.url.partition("#")[2] for c in chunks]
    assert anchors == ["cors-cross-origin-resource-sharing", "use-corsmiddleware", "the-name-placeholder", "setup"]
    assert [c.heading_path[-1] for c in chunks] == ["CORS", "Use `CORSMiddleware`", "The {name} placeholder", "Setup"]
    rendered = render_page(doc)
    ids = re.findall(r' id="([^"]+)"', rendered.html)
    assert ids == anchors
    assert [h[1:] for h in rendered.headings] == [
        ("CORS", "cors-cross-origin-resource-sharing"), ("Use `CORSMiddleware`", "use-corsmiddleware"),
        ("The {name} placeholder", "the-name-placeholder"), ("Setup", "setup")]
    assert "{ #" not in rendered.html and "{#" not in rendered.html


_ADVERSARIAL = {
    "attr_tokens": lambda n: "# x {" + "#a " * (n // 3) + "}",
    "attr_bad_last": lambda n: "# x {" + "#a " * (n // 3) + "y}",
    "open_braces": lambda n: "# x " + "{ " * (n // 2) + "}",
    "close_braces": lambda n: "# x {" + " }" * (n // 2),
    "long_id": lambda n: "# x {#" + "a" * n + "}",
    "many_headings": lambda n: "## h {#a .b c=d}\n" * (n // 17),
}


@pytest.mark.parametrize("shape", sorted(_ADVERSARIAL))
def test_attribute_parsing_is_linear(shape: str) -> None:
    """The attribute-list parse holds the same linear bound as every other text function."""
    make = _ADVERSARIAL[shape]
    for fn in (parse_heading, lambda t: sections(t, "T"), render_markdown):
        assert _too_slow(fn, make(SMALL), make(BIG)) is None, shape
