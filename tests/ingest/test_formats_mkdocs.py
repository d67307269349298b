"""MkDocs, pymdownx and Zulip Markdown: labelled admonitions and tabs, includes inside the source only."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import Document, read_document
from ingest.pipeline import chunk_document
from ingest.plumbing import plumbing

PAGE = """# Queue settings { #queue }

!!! note "Mind the limit"
    The queue holds at most fifty jobs.

/// tip | Faster restarts

Keep the cache folder between runs.

///

//// tab | Python 3.10+

{* ../src/example.py ln[1:2] hl[1] *}

////

=== "Linux"

    Run the service with systemd.

--8<-- "snippets/footer.md"

{!../../outside.md!}

Press <kbd>Ctrl</kbd> + <kbd>K</kbd> or click the (<i class="zulip-icon zulip-icon-star"></i>) icon.
"""


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "docs" / "snippets").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "docs" / "queue.md").write_text(PAGE)
    (root / "docs" / "snippets" / "footer.md").write_text("The footer snippet names the support desk.\n")
    (root / "src" / "example.py").write_text("first = 1\nsecond = 2\nthird = 3\n")
    (tmp_path / "outside.md").write_text("SECRET outside text\n")
    return root


def _read(root: Path, rel: str) -> Document:
    doc = read_document(root / rel, root, "https://docs.example.com")
    assert isinstance(doc, Document), doc
    return doc


def test_mkdocs_admonitions_and_tabs_labelled(tmp_path: Path) -> None:
    """`!!!`, `///` and `===` become bold labels followed by their (dedented) text."""
    body = _read(_tree(tmp_path), "docs/queue.md").body
    assert "**Note: Mind the limit**\nThe queue holds at most fifty jobs." in body
    assert "**Tip: Faster restarts**" in body and "Keep the cache folder" in body
    assert "**Python 3.10+**" in body and "**Linux**" in body and "\nRun the service with systemd." in body
    assert "!!!" not in body and "///" not in body and "===" not in body


def test_mkdocs_includes_resolved_inside_source_only(tmp_path: Path) -> None:
    """Code and snippet includes inside the root are inlined; one outside is dropped with a warning."""
    doc = _read(_tree(tmp_path), "docs/queue.md")
    assert "```python\nfirst = 1\nsecond = 2\n```" in doc.body and "third" not in doc.body
    assert "footer snippet names the support desk" in doc.body
    assert "SECRET" not in doc.body
    assert any("outside.md" in w and "dropped" in w for w in doc.warnings), doc.warnings


def test_mkdocs_inline_html_to_text(tmp_path: Path) -> None:
    """`<kbd>` keeps its key, an icon tag becomes its name, and no chunk carries plumbing."""
    doc = _read(_tree(tmp_path), "docs/queue.md")
    assert "Press Ctrl + K or click the (star) icon." in doc.body
    chunks = list(chunk_document(doc).values())
    assert {c.anchor for c in chunks} == {"queue"}
    assert all(not plumbing(c.text) for c in chunks), [plumbing(c.text) for c in chunks]


def test_zulip_macros_tabs_and_nested_includes(tmp_path: Path) -> None:
    """Zulip's `{!x.md!}` (nested, from include/), tab ids and settings macros become text."""
    help_dir = tmp_path / "help"
    (help_dir / "include").mkdir(parents=True)
    (help_dir / "include" / "outer.md").write_text("Outer text.\n\n{!inner.md!}\n")
    (help_dir / "include" / "inner.md").write_text("Inner text about muting.\n")
    (help_dir / "mute.md").write_text(
        "# Mute things\n\n{start_tabs}\n\n{tab|desktop-web}\n\n{settings_tab|notifications}\n\n"
        "1. Click **Mute**.\n\n!!! tip \"\"\n\n    Muting is quiet.\n\n{tab|mobile}\n\n{!outer.md!}\n\n{end_tabs}\n")
    body = _read(help_dir, "mute.md").body
    assert "**Desktop/Web**" in body and "**Mobile**" in body
    assert "1. Go to **Personal settings**, then **Notifications**." in body
    assert "Outer text." in body and "Inner text about muting." in body
    assert "**Tip:**\nMuting is quiet." in body
    assert not plumbing(body)


def test_includes_cycle_is_bounded(tmp_path: Path) -> None:
    """A file that includes itself is expanded a bounded number of times, with a warning."""
    (tmp_path / "loop.md").write_text("# Loop\n\nText.\n\n{!loop.md!}\n")
    doc = _read(tmp_path, "loop.md")
    assert doc.body.count("Text.") <= 3
    assert any("includes itself" in w for w in doc.warnings)
