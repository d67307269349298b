"""Text from documents, users and models is hostile: every text function is linear-time on it.

Each function gets adversarial inputs of 10 KB and of 100 KB, built from the shapes that
made the old regexes quadratic or cubic (a heading holding a run of spaces froze the
server for seconds). A 100 KB input must take under 2 s, and at most ~30x the 10 KB one:
linear work grows 10x, quadratic 100x, cubic 1,000x.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ingest.html_parser import html_to_markdown
from ingest.injection import scan
from ingest.markdown_splitter import parse_heading, scan_blocks, sections, split
from service import citations, guard
from service.docs_render import inline, render_markdown

SMALL, BIG = 10_000, 100_000
LIMIT_S = 2.0
RATIO = 30
FLOOR_S = 0.02  # noise on a shared machine: a 10 KB run counts as at least this (quadratic still shows)
ATTEMPTS = 3  # a slow run is measured again before the code is blamed: other processes share the CPU
ZW = "\u200b"


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


def _deep_list(n: int) -> str:
    lines: list[str] = []
    size = depth = 0
    while size < n:
        lines.append("  " * (depth % 200) + f"- item {depth}\n")
        size += len(lines[-1])
        depth += 1
    return "".join(lines)


# Inputs that every text function gets: markdown/HTML shapes and the unit that broke each regex.
INPUTS: dict[str, Callable[[int], str]] = {
    "heading_spaces": lambda n: "# x" + " " * (n - 5) + "x!",
    "heading_hash_spaces": lambda n: "#" + " " * (n - 2) + "x",
    "heading_hashes": lambda n: "# x " + "# " * (n // 2),
    "link_open": _repeat("[a("),
    "link_target": _repeat("[a](x"),
    "em_star": _repeat(" *a"),
    "bold_open": _repeat("**a"),
    "bold_unclosed": _repeat("**a "),
    "em_underscore": _repeat(" _a"),
    "backticks": _repeat("`"),
    "backtick_runs": _repeat("``a`"),
    "lt_zero_width": lambda n: "<" + ZW * (n - 1),
    "lt_zw_pairs": _repeat("<" + ZW),
    "source_open": _repeat("<source"),
    "source_close_spaces": lambda n: "</" + " " * (n - 9) + "source",
    "source_attr_spaces": lambda n: "<source " + " " * (n - 10) + "x",
    "marker_open_spaces": lambda n: "[" + " " * (n - 1),
    "spaces_then_stop": lambda n: " " * (n - 1) + ".",
    "markers": _repeat(". [1, 2"),
    "table_rule_spaces": lambda n: "| a |\n" + " " * (n - 12) + "| -\n| b |",
    "deep_list": _deep_list,
    "deep_quote": lambda n: ">" * (n - 1) + "x",
    "nested_markers": _repeat("- "),
    "fences": _repeat("```\n"),
    "fence_runs": lambda n: "`" * (n // 2) + "\n" + "x\n" * (n // 4),
    "html_tag_open": _repeat("<a "),
    "html_comment_open": _repeat("<!--"),
    "html_end_open": _repeat("</"),
    "html_marked_section": _repeat("<!["),
    "ignore_verbs": _repeat("ignore "),
    "role_prefix": lambda n: "*" * (n - 11) + "Assistant:x",
    "words": _repeat("word. Word "),
}

# Every function that reads document, user or model text on the server.
FUNCTIONS: dict[str, Callable[[str], object]] = {
    "scan_blocks": scan_blocks,
    "sections": lambda t: sections(t, "T"),
    "split": lambda t: split(t, "T"),
    "parse_heading": parse_heading,
    "render_markdown": render_markdown,
    "inline": inline,
    "fence": guard.fence,
    "attr": guard.attr,
    "leaks_prompt": guard.leaks_prompt,
    "safe_end": guard.safe_end,
    "check": lambda t: citations.check(t, 3),
    "split_sentences": citations.split_sentences,
    "attribute": lambda t: citations.attribute(t, [t[:4000], "word"]),
    "scan": scan,
    "html_to_markdown": html_to_markdown,
}


def _seconds(fn: Callable[[str], object], text: str) -> float:
    t0 = time.perf_counter()
    fn(text)
    return time.perf_counter() - t0


def _too_slow(fn: Callable[[str], object], small: str, big: str) -> str | None:
    t_small = t_big = float("inf")
    for _ in range(ATTEMPTS):
        t_small = min(t_small, max(_seconds(fn, small), FLOOR_S))
        t_big = min(t_big, _seconds(fn, big))
        if t_big < LIMIT_S and t_big < RATIO * t_small:
            return None
        if t_big > 5 * LIMIT_S:
            break  # super-linear for sure; no need to wait for it again
    return f"{t_small * 1000:.1f} ms at 10 KB, {t_big * 1000:.1f} ms at 100 KB"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_text_functions_linear_on_adversarial_input(name: str) -> None:
    """Each text function takes < 2 s on every 100 KB adversarial input, and at most ~30x its 10 KB time."""
    fn = FUNCTIONS[name]
    slow = [f"{shape}: {verdict}" for shape, make in INPUTS.items()
            if (verdict := _too_slow(fn, make(SMALL), make(BIG))) is not None]
    assert not slow, f"{name} is not linear-time: " + "; ".join(slow)


def test_parse_heading_is_commonmark_atx() -> None:
    """Levels 1-6, whitespace after the marks, a closing run of '#' dropped only after whitespace."""
    assert parse_heading("## Setup ##  ") == (2, "Setup")
    assert parse_heading("# C#") == (1, "C#")
    assert parse_heading("### a # b") == (3, "a # b")
    assert parse_heading("#\tTabbed") == (1, "Tabbed")
    assert parse_heading("# ") == (1, "") and parse_heading("### ###") == (3, "")
    assert parse_heading("#hashtag") is None and parse_heading("####### seven") is None
    assert parse_heading(" # indented") is None and parse_heading("plain") is None
    assert parse_heading("#" + " " * 100_000 + "x") == (1, "x")


def test_render_page_cached_per_path_and_hash() -> None:
    """A page is rendered once per version: the same (path, hash) is a cache hit, a new hash renders again."""
    from ingest.documents import Document
    from service.docs_render import render_page

    def doc(body: str, doc_hash: str) -> Document:
        return Document("a/page.md", "md", "Page", "/docs/a/page", "public", (), body, doc_hash)

    first = render_page(doc("# Hi\n\ntext", "h1"))
    assert render_page(doc("# Hi\n\ntext", "h1")) is first
    assert render_page(doc("# Bye\n\ntext", "h2")).html.startswith('<h1 id="bye">')
