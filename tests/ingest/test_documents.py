"""Bad input is a logged skip or a safe default, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

from docent.settings import Settings
from ingest.documents import Document, Skipped, doc_url, read_document
from ingest.pipeline import Ingestor
from tests.conftest import write


def _read(root: Path, rel: str) -> Document | Skipped:
    return read_document(root / rel, root, "/docs")


def test_read_binary_junk_skipped(tmp_path: Path) -> None:
    """A file with NUL bytes is skipped as binary."""
    (tmp_path / "junk.md").write_bytes(os.urandom(256) + b"\x00" * 10)
    result = _read(tmp_path, "junk.md")
    assert isinstance(result, Skipped) and "binary" in result.reason


def test_read_invalid_utf8_skipped(tmp_path: Path) -> None:
    """Invalid UTF-8 is skipped with the offending byte position."""
    (tmp_path / "latin.md").write_bytes("# Caf\xe9\n".encode("latin-1"))
    result = _read(tmp_path, "latin.md")
    assert isinstance(result, Skipped) and "UTF-8" in result.reason


def test_read_empty_doc_skipped(tmp_path: Path) -> None:
    """A page with front matter but no body is skipped as empty."""
    write(tmp_path, "empty.md", "---\ntitle: Nothing\n---\n\n")
    result = _read(tmp_path, "empty.md")
    assert isinstance(result, Skipped) and "empty" in result.reason


def test_read_five_mb_page_skipped(tmp_path: Path) -> None:
    """A 5 MB page is skipped as too large instead of flooding the index."""
    (tmp_path / "huge.md").write_text("# Huge\n" + "word " * 1_000_000)
    result = _read(tmp_path, "huge.md")
    assert isinstance(result, Skipped) and "too large" in result.reason


def test_read_unreadable_file_skipped(tmp_path: Path) -> None:
    """A dangling symlink (unreadable) is skipped, not raised."""
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing-target.md")
    result = _read(tmp_path, "gone.md")
    assert isinstance(result, Skipped) and "unreadable" in result.reason


def test_read_broken_front_matter_fails_closed(tmp_path: Path) -> None:
    """Unparseable front matter makes the page internal, with a warning."""
    write(tmp_path, "broken.md", "---\ntitle: [unclosed\nvisibility: public\n---\n# Broken\nSecret-ish text.\n")
    result = _read(tmp_path, "broken.md")
    assert isinstance(result, Document)
    assert result.visibility == "internal"
    assert result.warnings and "front matter" in result.warnings[0]


def test_read_html_page_to_sections(tmp_path: Path) -> None:
    """HTML is parsed into headings, tables and code like markdown."""
    write(tmp_path, "page.html", """
        <html><head><title>Agent ports</title><script>var x=1;</script></head>
        <body><h1>Agent ports</h1><p>The agent listens on port 7400.</p>
        <h2>Table</h2><table><tr><th>Port</th><th>Use</th></tr><tr><td>7400</td><td>API</td></tr></table>
        <pre>pylon status --json</pre></body></html>
        """)
    result = _read(tmp_path, "page.html")
    assert isinstance(result, Document)
    assert result.title == "Agent ports"
    assert "| 7400 | API |" in result.body and "## Table" in result.body
    assert "var x" not in result.body


def test_doc_url_derived_from_path() -> None:
    """URLs derive from the path; index pages map to their folder."""
    assert doc_url("guide/proxies.md", "https://d.example/") == "https://d.example/guide/proxies"
    assert doc_url("guide/index.md", "/docs") == "/docs/guide"


def test_ingest_bad_files_reported_run_completes(settings: Settings, mini_corpus: Path, edge_store: object,
                                                  embedder: object) -> None:
    """A run with junk files ingests the good ones and lists the skips."""
    (mini_corpus / "junk.md").write_bytes(b"\x00\x01\x02")
    (mini_corpus / "bad.md").write_bytes(b"\xff\xfe broken")
    from docent.sparse import Bm25Encoder

    ingestor = Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir, "/docs")  # type: ignore[arg-type]
    summary = ingestor.run(mini_corpus, progress=False)
    assert summary.docs_added == 4
    assert {s["path"] for s in summary.skipped} == {"junk.md", "bad.md"}
