"""The plumbing check: it finds site markup in prose and leaves code and plain text alone."""

from __future__ import annotations

import time

import pytest

from ingest.plumbing import plumbing


@pytest.mark.parametrize("text", [
    "import Tabs from '@theme/Tabs';", "export const X = 1;", "<TabItem value=\"a\">", "</Tabs>", "<DocCardList />",
    ":::note", "!!! tip \"\"", "/// warning", "=== \"Linux\"", "{!send-us-info.md!}", "{* ../src/a.py hl[1] *}",
    "--8<-- \"a.md\"", "{start_tabs}", "{settings_tab|profile}", "{% if x %}", "{{ support_email }}",
    ".. note::", "See :ref:`limits`.", "Press <kbd>Ctrl</kbd>.", "<!-- hidden -->", "Setup {#setup}", "{/* c */}",
])
def test_plumbing_found(text: str) -> None:
    """Each kind of site markup is reported."""
    assert plumbing(text), text


@pytest.mark.parametrize("text", [
    "```mdx\nimport Tabs from '@theme/Tabs';\n:::note\n```", "Use `:::note` or `{!x.md!}` in code.",
    "A List<String> holds <username> and a < b > c.", "**Tip:** plain labelled text.", "The <A> node.",
])
def test_plumbing_clean_text_passes(text: str) -> None:
    """Code, code spans, generics and placeholders are not plumbing."""
    assert plumbing(text) == [], plumbing(text)


def test_plumbing_linear_on_hostile_text() -> None:
    """100 KB of near-miss markup is checked quickly (no backtracking patterns)."""
    started = time.perf_counter()
    plumbing(("<a " * 20_000) + "\n" + ("{! " * 20_000) + "\n" + (":x:" * 20_000))
    assert time.perf_counter() - started < 2.0
