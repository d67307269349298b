"""PDF through pypdf: sections per outline entry or per page, #page=N anchors, scans skipped."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from ingest.documents import Document, Skipped, read_document
from ingest.pipeline import chunk_document


def _pdf(pages: list[list[str]], outline: tuple[tuple[str, int], ...] = ()) -> bytes:
    """A small PDF with a Helvetica text layer: one list of lines per page."""
    writer = PdfWriter()
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        if not lines:
            continue
        ops = "BT /F1 11 Tf 72 720 Td 14 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
        stream = DecodedStreamObject()
        stream.set_data(ops.encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    for title, number in outline:
        writer.add_outline_item(title=title, page_number=number)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


FOOTER = "Acme Manual - confidential draft"
PAGES = [
    ["Installing Acme", "Acme installs from one archive on every platform.", FOOTER],
    ["Acme needs fifty megabytes of disk space.", "Configuring Acme", "The config file lives in the home folder.",
     FOOTER],
    ["Set the port with the listen key.", FOOTER],
]


def _read(path: Path) -> Document | Skipped:
    return read_document(path, path.parent, "https://docs.example.com")


def test_pdf_outline_entries_become_sections(tmp_path: Path) -> None:
    """Each outline entry is a section anchored at its page, running to the next entry's title."""
    path = tmp_path / "manual.pdf"
    path.write_bytes(_pdf(PAGES, (("Installing Acme", 0), ("Configuring Acme", 1))))
    doc = _read(path)
    assert isinstance(doc, Document) and doc.kind == "pdf" and doc.url == "https://docs.example.com/manual.pdf"
    chunks = list(chunk_document(doc).values())
    by_section = {c.heading_path[-1]: c for c in chunks}
    assert set(by_section) == {"Installing Acme", "Configuring Acme"}
    assert by_section["Installing Acme"].anchor == "page=1"
    assert "fifty megabytes" in by_section["Installing Acme"].text
    assert by_section["Configuring Acme"].url.endswith("manual.pdf#page=2")
    assert "listen key" in by_section["Configuring Acme"].text


def test_pdf_without_outline_is_split_per_page(tmp_path: Path) -> None:
    """Without an outline each page is a section; a running footer on every page is removed."""
    path = tmp_path / "plain.pdf"
    path.write_bytes(_pdf(PAGES))
    doc = _read(path)
    assert isinstance(doc, Document)
    anchors = [c.anchor for c in chunk_document(doc).values()]
    assert anchors == ["page=1", "page=2", "page=3"]
    assert FOOTER not in doc.body


def test_pdf_without_text_layer_is_a_skip(tmp_path: Path) -> None:
    """A scan (pages with no text) is a Skipped entry with a reason, not an empty document."""
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf([[], []]))
    item = _read(path)
    assert isinstance(item, Skipped) and "no text layer" in item.reason


def test_pdf_broken_file_is_a_skip(tmp_path: Path) -> None:
    """Bytes that are not a PDF are skipped with a reason."""
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nnot really a pdf\n")
    item = _read(path)
    assert isinstance(item, Skipped) and "PDF" in item.reason
