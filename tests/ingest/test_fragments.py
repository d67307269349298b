"""Included fragments are not pages: a file that another page of the folder includes is left out
of the index, /docs and llms.txt listings, and reaches them through the pages that include it."""

from __future__ import annotations

from pathlib import Path

from docent.index.edge import EdgeStore
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.documents import Document, Skipped, read_all
from ingest.pipeline import Ingestor
from service.docs_lookup import folder_documents, public_pages
from tests.conftest import write


def _zulip(root: Path) -> None:
    write(root, "mute-a-stream.md", "# Mute a stream\n\n{!admin-only.md!}\n\n1. {!go-to-settings.md!}\n")
    write(root, "include/admin-only.md", "!!! warn \"\"\n\n    Only administrators can mute streams for everyone.\n")
    write(root, "include/go-to-settings.md", "Open the settings menu.\n\n{!settings-gear.md!}\n")
    write(root, "include/settings-gear.md", "Click the gear icon in the upper right corner.\n")
    write(root, "include/orphan.md", "# Orphan\n\nNothing includes this file.\n")


def _items(root: Path) -> tuple[dict[str, Document | Skipped], dict[str, str]]:
    found: dict[str, str] = {}
    return {item.path: item for item in read_all(root, "/docs", fragments_out=found)}, found


def test_read_all_zulip_includes_are_fragments(tmp_path: Path) -> None:
    """{!x.md!} targets, nested ones too, are not documents; their text is in the including page."""
    _zulip(tmp_path)
    items, found = _items(tmp_path)
    assert sorted(items) == ["include/orphan.md", "mute-a-stream.md"]
    assert found == {"include/admin-only.md": "mute-a-stream.md", "include/go-to-settings.md": "mute-a-stream.md",
                     "include/settings-gear.md": "mute-a-stream.md"}
    page = items["mute-a-stream.md"]
    assert isinstance(page, Document)
    assert "Only administrators" in page.body and "gear icon" in page.body
    assert page.included == ("include/admin-only.md", "include/go-to-settings.md", "include/settings-gear.md")


def test_read_all_mkdocs_snippets_are_fragments(tmp_path: Path) -> None:
    """--8<-- snippet targets are not documents; the page that pulls them in is."""
    write(tmp_path, "guide/install.md", '# Install\n\n--8<-- "snippets/requirements.md"\n\nThen run the installer.\n')
    write(tmp_path, "snippets/requirements.md", "You need Python 3.11 and 2 GB of disk space.\n")
    items, found = _items(tmp_path)
    assert sorted(items) == ["guide/install.md"]
    assert found == {"snippets/requirements.md": "guide/install.md"}
    page = items["guide/install.md"]
    assert isinstance(page, Document) and "2 GB of disk space" in page.body


def test_read_all_rst_includes_are_fragments(tmp_path: Path) -> None:
    """A reST ``include::`` target is a fragment, and its text counts in the including page's hash."""
    write(tmp_path, "docs/changes.rst", "Changes\n=======\n\n.. include:: ../CHANGES.rst\n")
    write(tmp_path, "CHANGES.rst", "Version 2.1\n-----------\n\nThe retry limit is now 5.\n")
    items, found = _items(tmp_path)
    assert sorted(items) == ["docs/changes.rst"]
    assert found == {"CHANGES.rst": "docs/changes.rst"}
    page = items["docs/changes.rst"]
    assert isinstance(page, Document) and "retry limit is now 5" in page.body
    before = page.doc_hash
    write(tmp_path, "CHANGES.rst", "Version 2.1\n-----------\n\nThe retry limit is now 7.\n")
    after = _items(tmp_path)[0]["docs/changes.rst"]
    assert isinstance(after, Document) and after.doc_hash != before


def test_read_all_files_including_each_other_stay_pages(tmp_path: Path) -> None:
    """Two files that include each other, with no page above them, are both still pages."""
    write(tmp_path, "a.md", "# A\n\nText of a.\n\n{!b.md!}\n")
    write(tmp_path, "b.md", "# B\n\nText of b.\n\n{!a.md!}\n")
    items, found = _items(tmp_path)
    assert sorted(items) == ["a.md", "b.md"] and found == {}


def test_docs_listing_leaves_out_fragments(tmp_path: Path) -> None:
    """The /docs navigation (and llms.txt, from the same listing) lists pages, not fragments."""
    _zulip(tmp_path)
    for rel in ("mute-a-stream.md", "include/orphan.md", "include/admin-only.md", "include/go-to-settings.md",
                "include/settings-gear.md"):
        text = (tmp_path / rel).read_text()
        (tmp_path / rel).write_text("---\nvisibility: public\n---\n" + text)
    assert sorted(d.path for d in folder_documents(tmp_path)) == ["include/orphan.md", "mute-a-stream.md"]
    assert sorted(link.href for link in public_pages(tmp_path)) == ["/docs/include/orphan", "/docs/mute-a-stream"]


def test_ingest_fragment_follows_its_includers(settings: Settings, edge_store: EdgeStore, embedder: object) -> None:
    """A fragment is never indexed alone; edited, its page is updated; no longer included, it is a page."""
    docs = settings.docs_dir
    _zulip(docs)
    ingestor = Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir, "/docs")  # type: ignore[arg-type]
    first = ingestor.run(docs, progress=False)
    assert first.skipped == [] and first.docs_added == 2
    indexed = set(edge_store.active(ingestor.meta).inventory())
    assert indexed == {"include/orphan.md", "mute-a-stream.md"}

    write(docs, "include/settings-gear.md", "Click the cog icon at the top right.\n")
    second = ingestor.run(docs, progress=False)
    assert second.changes["changed"] == ["mute-a-stream.md"] and second.changes["added"] == []

    write(docs, "mute-a-stream.md", "# Mute a stream\n\n{!admin-only.md!}\n")
    third = ingestor.run(docs, progress=False)
    # go-to-settings.md is now included by no page: a page, whose own include stays a fragment.
    assert third.changes["added"] == ["include/go-to-settings.md"]
    assert set(edge_store.active(ingestor.meta).inventory()) == {
        "include/orphan.md", "mute-a-stream.md", "include/go-to-settings.md"}
