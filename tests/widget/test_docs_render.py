"""The /docs renderer: anchors that match citation URLs, escaping, safe links."""

from __future__ import annotations

import re

import pytest

from ingest.documents import Document, read_all
from ingest.markdown_splitter import sections
from service.docs_lookup import find_doc, find_public, public_pages
from service.docs_render import inline, render_markdown
from tests.conftest import REPO

CORPUS = REPO / "docs-corpus"


def test_render_anchors_match_ingest_sections_for_whole_corpus() -> None:
    """Every section anchor the splitter puts in a citation URL exists as an id on the rendered page."""
    checked = 0
    for doc in read_all(CORPUS, "/docs"):
        if not isinstance(doc, Document):
            continue
        ids = set(re.findall(r' id="([^"]+)"', render_markdown(doc.body, doc.path).html))
        anchors = {s.anchor for s in sections(doc.body, doc.title) if s.anchor}
        assert anchors <= ids, (doc.path, anchors - ids)
        checked += len(anchors)
    assert checked > 200


def test_render_escapes_html_everywhere() -> None:
    """Raw HTML in text, headings, tables and code is shown as text, never parsed."""
    body = ("# Hi <b>x</b>\n\n<script>alert(1)</script> and `<i>`\n\n"
            "| a | <img src=x onerror=y> |\n|---|---|\n| 1 | 2 |\n\n```html\n<script>bad()</script>\n```\n")
    out = render_markdown(body).html
    assert "<script>" not in out and "<img" not in out and "<b>" not in out and "<i>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and '<pre><code class="language-html">' in out


@pytest.mark.parametrize("target", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x"])
def test_inline_unsafe_link_schemes_render_as_text(target: str) -> None:
    """Links with script-capable schemes lose their href."""
    out = inline(f"[click]({target})")
    assert "href" not in out and "click" in out


def test_inline_relative_md_links_point_at_rendered_pages() -> None:
    """A relative .md link becomes the /docs URL of that page, fragment kept; http links stay."""
    assert inline("see [TLS](tls.md#ca)", "configuration/proxies.md") == \
        'see <a href="/docs/configuration/tls#ca">TLS</a>'
    assert 'href="/docs/billing/plans"' in inline("[p](../billing/plans.md)", "configuration/x.md")
    assert 'href="https://example.com/a?b=1&amp;c=2"' in inline("[x](https://example.com/a?b=1&c=2)")


def test_inline_code_emphasis_and_lists() -> None:
    """Code spans are literal; bold and italics apply outside them; lists nest by indentation."""
    assert inline("`**not bold**` **bold** *it*") == "<code>**not bold**</code> <strong>bold</strong> <em>it</em>"
    out = render_markdown("- one\n  - nested\n- two\n\n1. first\n2. second").html
    assert out == ("<ul><li>one<ul><li>nested</li></ul></li><li>two</li></ul>\n"
                   "<ol><li>first</li><li>second</li></ol>")


def test_find_public_hides_internal_and_traversal() -> None:
    """Internal pages exist for staff lookups but are never public; traversal finds nothing."""
    assert find_public(CORPUS, "configuration/proxies") is not None
    assert find_public(CORPUS, "internal/escalation-policy") is None
    assert find_doc(CORPUS, "internal/escalation-policy") is not None
    for path in ("../README", "internal/../../pyproject.toml", ".hidden", "configuration/.."):
        assert find_doc(CORPUS, path) is None
    assert all(not link.href.startswith("/docs/internal") for link in public_pages(CORPUS))
