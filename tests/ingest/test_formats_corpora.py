"""The foreign corpora in ../shared/corpora, read in place: no plumbing left, anchors and labels right."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.formats import ROOTS, measure
from ingest.documents import Document, read_document
from ingest.pipeline import chunk_document

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is not present")


def _doc(corpus: str, rel: str) -> Document:
    root = CORPORA / corpus / ROOTS[corpus]
    doc = read_document(root / rel, root, "https://docs.example.com")
    assert isinstance(doc, Document), doc
    return doc


@pytest.mark.parametrize("corpus", ["zulip-help", "fastapi-docs", "flask-docs", "docusaurus-docs"])
def test_corpus_chunks_carry_no_plumbing(corpus: str) -> None:
    """Every page parses, none is skipped, and no chunk carries markup plumbing."""
    figures = measure(corpus, CORPORA / corpus / ROOTS[corpus])
    assert figures.docs + figures.fragments == figures.files and not figures.skipped, figures.skipped
    assert figures.chunks > 500
    assert figures.plumbing_chunks == 0, figures.examples


def test_corpus_zulip_includes_and_tabs() -> None:
    """A Zulip article gets its included steps, tab labels and tip labels."""
    doc = _doc("zulip-help", "star-a-message.md")
    assert "**Desktop**" in doc.body and "**Mobile**" in doc.body and "**Tip:**" in doc.body
    assert "long-press menu" in doc.body  # from include/message-long-press-menu.md
    assert {c.anchor for c in chunk_document(doc).values()} >= {"star-a-message", "view-your-starred-messages"}


def test_corpus_fastapi_code_includes_and_heading_ids() -> None:
    """FastAPI's `{* ... *}` code includes are inlined and `{ #id }` headings anchor the chunks."""
    doc = _doc("fastapi-docs", "docs/en/docs/tutorial/cors.md")
    assert "CORSMiddleware" in doc.body and "```python" in doc.body and "from fastapi" in doc.body
    anchors = {c.anchor for c in chunk_document(doc).values()}
    assert "use-corsmiddleware" in anchors


def test_corpus_docusaurus_slug_title_and_admonitions() -> None:
    """A Docusaurus page takes its slug and H1; tab labels and admonition labels are kept."""
    doc = _doc("docusaurus-docs", "website/docs/guides/markdown-features/markdown-features-tabs.mdx")
    assert doc.url == "https://docs.example.com/markdown-features/tabs" and doc.title == "Tabs"
    assert "**Apple**" in doc.body and "This is an apple" in doc.body
    admonitions = _doc("docusaurus-docs", "website/docs/guides/markdown-features/markdown-features-admonitions.mdx")
    assert "**Tip:" in admonitions.body or "**Tip:**" in admonitions.body


def test_corpus_flask_sections_and_roles() -> None:
    """A Sphinx page: sections anchored by their ids, roles shown as their text."""
    doc = _doc("flask-docs", "docs/appcontext.rst")
    assert doc.title == "The App and Request Context"
    assert ":class:" not in doc.body and "`current_app`" in doc.body
    assert "purpose-of-the-context" in {c.anchor for c in chunk_document(doc).values()}


@pytest.mark.parametrize("rel", ["Comcast/pipeclamp/docs/manual.pdf", "GoogleCloudPlatform/gcs-uploader/UserManual.pdf",
                                 "Jollywatt/typst-fletcher/docs/manual.pdf"])
def test_corpus_pdfs_index_pages_with_anchors(rel: str) -> None:
    """Each manual gives chunks anchored at pages, with no ligatures or soft hyphens left."""
    doc = _doc("pdf-manuals", rel)
    chunks = list(chunk_document(doc).values())
    assert len(chunks) > 10
    assert all(c.anchor.startswith("page=") for c in chunks[1:])
    assert "\ufb01" not in doc.body and "\u00ad" not in doc.body
