"""Nothing outside the docs folder is read: file links, folder links and ``..`` targets are refused.

Docs folders are git checkouts and git stores symlinks, so one merged pull request could
plant ``passwd.md -> /etc/passwd`` or a link to the server's own change log. Real links
in a temporary docs folder, through the real pipeline and the /docs lookup.
"""

from __future__ import annotations

from pathlib import Path

from docent.paths import resolve_inside
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.documents import Document, Skipped, read_all, read_document
from ingest.pipeline import Ingestor
from service.docs_lookup import find_doc, public_pages


def _plant(docs: Path, outside: Path) -> None:
    (docs / "guide").mkdir(parents=True)
    (docs / "guide" / "real.md").write_text("# Real page\n\nThe agent reads its settings file at start.\n")
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nOUTSIDE-CANARY-77 lives outside the docs folder.\n")
    (outside / "changes.jsonl").write_text('{"doc": "internal/secret-plan.md"}\n')
    (docs / "passwd.md").symlink_to("/etc/passwd")
    (docs / "changes.md").symlink_to(outside / "changes.jsonl")
    (docs / "up.md").symlink_to(Path("..") / outside.name / "secret.md")  # a relative ".." target
    (docs / "linked-folder").symlink_to(outside, target_is_directory=True)
    (docs / "guide" / "deep").mkdir()
    (docs / "guide" / "deep" / "loop").symlink_to(docs, target_is_directory=True)
    (docs / "alias.md").symlink_to(docs / "guide" / "real.md")  # inside the folder: allowed


def test_links_out_are_skipped_with_reason(tmp_path: Path) -> None:
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    docs.mkdir()
    _plant(docs, outside)
    items = list(read_all(docs, "/docs"))
    skipped = {s.path: s.reason for s in items if isinstance(s, Skipped)}
    read = {d.path for d in items if isinstance(d, Document)}
    assert read == {"guide/real.md", "alias.md"}
    for rel in ("passwd.md", "changes.md", "up.md", "linked-folder"):
        assert "outside the docs folder" in skipped[rel], (rel, skipped)
    assert "inside the docs folder" in skipped["guide/deep/loop"]
    assert all("OUTSIDE-CANARY" not in d.body for d in items if isinstance(d, Document))


def test_read_document_rechecks_at_open_time(tmp_path: Path) -> None:
    """A caller passing a path directly gets the same refusal as the walk (one check, not two)."""
    docs, outside = tmp_path / "docs", tmp_path / "outside"
    docs.mkdir()
    _plant(docs, outside)
    result = read_document(docs / "up.md", docs, "/docs")
    assert isinstance(result, Skipped) and "outside" in result.reason
    assert resolve_inside(docs, Path("linked-folder/secret.md")) is None
    assert resolve_inside(docs, Path("guide/../guide/real.md")) == (docs / "guide" / "real.md").resolve()
    assert resolve_inside(docs, Path("x" * 300 + ".md")) is None  # name too long: refused, not raised


def test_pipeline_reports_and_pages_refuse(settings: Settings, edge_store: object, embedder: object,
                                           tmp_path: Path) -> None:
    docs = settings.docs_dir
    _plant(docs, tmp_path / "outside")
    summary = Ingestor(edge_store, embedder, Bm25Encoder(), settings.data_dir,  # type: ignore[arg-type]
                       "/docs").run(docs, progress=False)
    reasons = {s["path"]: s["reason"] for s in summary.skipped}
    assert {"passwd.md", "changes.md", "up.md", "linked-folder"} <= reasons.keys()
    index = edge_store.open_active()  # type: ignore[attr-defined]
    assert index is not None and set(index.inventory()) == {"guide/real.md", "alias.md"}
    for url_path in ("passwd", "changes", "up", "linked-folder/secret", "guide/deep/loop/guide/real"):
        assert find_doc(docs, url_path) is None, url_path
    assert find_doc(docs, "guide/real") is not None
    assert {link.href for link in public_pages(docs)} == {"/docs/guide/real", "/docs/alias"}
