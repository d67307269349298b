"""Chunking keeps structure: heading paths, anchors, whole tables and code fences."""

from __future__ import annotations

from ingest.markdown_splitter import sections, slugify, split

DOC = """# Configuration
Intro before any section.
## Proxies
Proxies are optional.
### SOCKS
Use socks5.
```yaml
# a comment, not a heading
proxy:
  url: socks5://10.0.0.1:1080
```
## Limits
| Key | Default |
|---|---|
| a | 1 |
| b | 2 |
"""


def test_split_heading_path_nested_sections() -> None:
    """Each chunk carries the full heading path from the page title down."""
    paths = [p.heading_path for p in split(DOC, "Configuration")]
    assert ("Configuration",) in paths
    assert ("Configuration", "Proxies", "SOCKS") in paths
    assert ("Configuration", "Limits") in paths


def test_split_code_fence_hash_is_not_a_heading() -> None:
    """A '#' line inside a code fence stays in the code block."""
    socks = next(p for p in split(DOC, "Configuration") if p.heading_path[-1] == "SOCKS")
    assert "# a comment, not a heading" in socks.text
    assert socks.text.count("```") == 2


def test_split_table_kept_whole() -> None:
    """A table that fits stays in one chunk with its header."""
    limits = next(p for p in split(DOC, "Configuration") if p.heading_path[-1] == "Limits")
    assert limits.text.splitlines()[0] == "| Key | Default |"
    assert "| b | 2 |" in limits.text


def test_split_big_table_repeats_header_between_rows() -> None:
    """An oversized table is split between rows and every part keeps the header."""
    rows = "\n".join(f"| key_{i} | value number {i} with several extra words here |" for i in range(60))
    doc = f"# T\n## Big\n| Key | Value |\n|---|---|\n{rows}\n"
    parts = [p for p in split(doc, "T", max_words=80) if p.heading_path[-1] == "Big"]
    assert len(parts) > 1
    for part in parts:
        lines = part.text.splitlines()
        assert lines[:2] == ["| Key | Value |", "|---|---|"]
        assert all(line.startswith("|") and line.endswith("|") for line in lines)
    joined = "\n".join(p.text for p in parts)
    assert all(f"| key_{i} |" in joined for i in range(60))


def test_split_long_code_block_never_cut() -> None:
    """A code fence longer than the budget stays in one chunk."""
    code = "```bash\n" + "\n".join(f"echo step {i} of the long install script" for i in range(80)) + "\n```"
    doc = f"# T\n## Install\nRun this.\n{code}\n"
    pieces = split(doc, "T", max_words=60)
    holding = [p for p in pieces if "echo step 0 " in p.text]
    assert len(holding) == 1 and "echo step 79 " in holding[0].text


def test_split_chunks_respect_word_budget() -> None:
    """Prose is packed into chunks no longer than the budget (prefix included)."""
    prose = " ".join(f"Sentence number {i} explains one more detail." for i in range(200))
    pieces = split(f"# T\n## Long\n{prose}\n", "T", max_words=100)
    assert len(pieces) > 5
    for p in pieces:
        assert len(p.text.split()) + len(" ".join(p.heading_path).split()) <= 100


def test_sections_duplicate_headings_get_unique_anchors() -> None:
    """Two sections with the same heading get distinct anchors."""
    secs = sections("# T\n## Notes\na\n## Notes\nb\n", "T")
    assert [s.anchor for s in secs] == ["notes", "notes-1"]


def test_slugify_matches_github_style() -> None:
    """Anchors follow the GitHub convention used by doc sites."""
    assert slugify("SOCKS5 & `proxy.url` (v3.1)") == "socks5--proxyurl-v31"
