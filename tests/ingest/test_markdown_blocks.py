"""Block detection by markdown-it-py: kinds, source slices, front matter, lists, and linear time."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import pytest

from ingest.markdown_blocks import MAX_NESTING, Block, scan_blocks
from ingest.markdown_splitter import DEFAULT_MAX_WORDS, MAX_CHUNK_CHARS, split
from service.docs_render import render_markdown


def _kinds(body: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in scan_blocks(body)]


def test_scan_blocks_kinds_commonmark() -> None:
    """Headings (ATX and setext), fences, tables, lists and the rest as text, each with its own source lines."""
    body = ("Title\n=====\n\nIntro with *emphasis* and [a link](x.md).\n\n## Setup\n\n"
            "```sh\nmake\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n"
            "> quoted\n\n<div>\nraw\n</div>\n\n---\n\nEnd.\n")
    assert _kinds(body) == [
        ("heading", "Title"), ("text", "Intro with *emphasis* and [a link](x.md)."), ("heading", "Setup"),
        ("code", "```sh\nmake\n```"), ("table", "| a | b |\n|---|---|\n| 1 | 2 |"), ("list", "- one\n- two"),
        ("text", "> quoted"), ("text", "<div>\nraw\n</div>"), ("text", "---"), ("text", "End."),
    ]
    assert [b.level for b in scan_blocks(body) if b.kind == "heading"] == [1, 2]


def test_scan_blocks_list_interrupting_paragraph_is_its_own_block() -> None:
    """A list right after a paragraph line is a list, not more paragraph (the old scanner ran them together)."""
    assert _kinds("Steps:\n- one\n- two") == [("text", "Steps:"), ("list", "- one\n- two")]


def test_scan_blocks_explicit_anchor_atx_and_setext() -> None:
    """``{#id}`` works on ATX headings (after a closing ``#`` run too) and on setext ones."""
    blocks = scan_blocks("## Setup ## {#setup}\n\nSub {#sub .x}\n---\n\n# C#\n")
    assert [(b.text, b.level, b.anchor) for b in blocks] == [("Setup", 2, "setup"), ("Sub", 2, "sub"), ("C#", 1, "")]


def test_scan_blocks_indented_code_comes_back_fenced() -> None:
    """An indented code block becomes a fence longer than any backtick run inside it."""
    (block,) = scan_blocks("    ````\n    x = 1\n")
    assert block == Block("code", "`````\n````\nx = 1\n`````")


def test_scan_blocks_unclosed_fence_runs_to_the_end() -> None:
    """As in CommonMark, an unclosed fence holds the rest of the document, headings included."""
    assert _kinds("text\n\n```py\ncode\n# not a heading\n\n") == [
        ("text", "text"), ("code", "```py\ncode\n# not a heading")]


def test_scan_blocks_leading_front_matter_dropped() -> None:
    """A stray front matter block (one the front matter reader reads as a mapping) is not text."""
    assert _kinds("\n---\ntitle: Stray\nvisibility: public\n---\n# Page\n\nBody.") == [
        ("heading", "Page"), ("text", "Body.")]


def test_scan_blocks_leading_thematic_break_kept() -> None:
    """A body that opens with ``---`` and has another ``---`` later keeps everything in between."""
    assert _kinds("---\n\nIntro\n\n## Part\n\nText.\n\n---\n\nMore.") == [
        ("text", "---"), ("text", "Intro"), ("heading", "Part"), ("text", "Text."), ("text", "---"),
        ("text", "More.")]


def test_scan_blocks_crlf_and_reference_definitions() -> None:
    """CRLF line ends are read as LF; link reference definitions are not text of their own."""
    assert _kinds("# A\r\ntext [x][r]\r\n\r\n[r]: https://example.com\r\n") == [
        ("heading", "A"), ("text", "text [x][r]")]


def test_scan_blocks_list_items_are_top_level_items() -> None:
    """A list block knows its top-level items, nested lists and fences staying inside their item."""
    (block,) = scan_blocks("1. one\n   - nested\n2. two\n\n   ```\n   code\n   ```\n3. three\n")
    assert block.kind == "list"
    assert block.items == ("1. one\n   - nested", "2. two\n\n   ```\n   code\n   ```", "3. three")


def test_split_oversized_list_between_items() -> None:
    """A list too big for one chunk is split between items, line breaks kept, each item whole and in order."""
    items = [f"- item {i} " + " ".join(f"word{i}x{j}" for j in range(12)) for i in range(60)]
    pieces = split("# T\n\nThe options:\n" + "\n".join(items), "T")
    assert len(pieces) > 2
    assert pieces[0].text.startswith("The options:\n\n- item 0 ")  # the lead-in shares the first chunk
    lines = [line for p in pieces for line in p.text.split("\n")]
    assert lines == ["The options:", "", *items]
    assert all(p.text.split("\n")[0].startswith(("The options", "- item")) for p in pieces)


def test_split_oversized_loose_list_keeps_blank_lines() -> None:
    """A loose list split between items stays loose (blank lines between items)."""
    items = [f"1. step {i} " + " ".join(f"w{i}y{j}" for j in range(15)) for i in range(40)]
    pieces = split("# T\n\n" + "\n\n".join(items), "T")
    assert len(pieces) > 2
    assert "\n\n\n".join(p.text for p in pieces).replace("\n\n\n", "\n\n") == "\n\n".join(items)


def test_split_giant_list_item_cut_within_caps() -> None:
    """One list item bigger than a chunk is cut at lines, then words; every chunk keeps its caps."""
    item = "- " + "\n  ".join(" ".join(f"tok{i}_{j}" for j in range(30)) for i in range(200))
    pieces = split(item, "T")
    assert len(pieces) > 10
    assert all(len(p.text) <= MAX_CHUNK_CHARS and len(p.text.split()) <= DEFAULT_MAX_WORDS for p in pieces)
    assert " ".join(p.text for p in pieces).split() == item.split()


def test_scan_blocks_nesting_capped_text_kept() -> None:
    """Past MAX_NESTING the parser stops descending, but the text stays in its top-level block."""
    deep = "> " * (MAX_NESTING * 5) + "deep words"
    blocks = scan_blocks(f"{deep}\n\n# After\n\nEnd.")
    assert blocks[0].kind == "text" and blocks[0].text.endswith("deep words")
    assert ("heading", "After") in [(b.kind, b.text) for b in blocks]


def test_render_markdown_list_with_fence_renders_code() -> None:
    """On /docs, a fence inside a list item is code inside that item, not list text."""
    out = render_markdown("1. Install:\n\n   ```bash\n   npm i x\n   ```\n2. Run it.").html
    assert out == ('<ol><li><p>Install:</p><pre><code class="language-bash">npm i x</code></pre></li>'
                   "<li><p>Run it.</p></li></ol>")


def _rep(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


# Shapes that make a block parser do the most work per byte (one token or more per line),
# and the nesting shapes that are quadratic in parsers without a nesting cap.
SHAPES: dict[str, Callable[[int], str]] = {
    "list_items": _rep("- a\n"),
    "loose_items": _rep("1. a\n\n"),
    "paragraphs": _rep("w\n\n"),
    "headings": _rep("# a\n"),
    "setext": _rep("a\n=\n"),
    "table_rows": lambda n: "| a | b |\n|---|---|\n" + _rep("| 1 |\n")(n),
    "quote_lines": _rep("> a\n"),
    "nested_quotes": _rep(">"),
    "nested_items": _rep("- "),
    "nested_brackets": _rep("["),
    "unclosed_fences": _rep("```\n"),
    "alternating_fences": _rep("```\n~~~\n"),
    "html_open": _rep("<div>\n"),
    "references": _rep("[a]: /u\n"),
    "front_matter": lambda n: "---\n" + _rep("a: b\n")(n),
    "deep_list": lambda n: "".join("  " * (i % 200) + f"- x{i}\n" for i in range(n // 220 + 1))[:n],
}


def _cpu(fn: Callable[[], object]) -> float:
    # The cycle collector's passes over the parser's many live tokens grow faster than the
    # input at this size (10x the input took ~20x with it, 10x without): measured without it,
    # the ratio shows the parser's own complexity.
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        fn()
        return time.process_time() - start
    finally:
        gc.enable()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_scan_blocks_linear_on_hostile_shapes(shape: str) -> None:
    """100 KB of each shape parses in under 2 s of CPU and at most ~30x its 10 KB time.

    Linear work grows 10x, quadratic 100x (the bounds of tests/security/test_redos.py).
    """
    small, big = SHAPES[shape](10_000), SHAPES[shape](100_000)
    best = float("inf")
    for _ in range(3):  # the CPU is shared: a slow run is measured again before the code is blamed
        t_small = max(_cpu(lambda: scan_blocks(small)), 0.02)
        t_big = _cpu(lambda: scan_blocks(big))
        best = min(best, t_big / t_small)
        if t_big < 2.0 and t_big < 30 * t_small:
            return
    pytest.fail(f"{shape}: {t_big:.2f} s at 100 KB, {best:.1f}x the 10 KB time")
