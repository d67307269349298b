"""Stage 1b: one parser per source format, each turning a file into the Markdown the splitter reads.

Every parser takes a :class:`Source` (the file's text after front matter, its bytes, its
front-matter fields and where it lives) and returns a :class:`Parsed`: the body as plain
Markdown (headings with ``{#id}`` anchors, fences, tables, paragraphs), a title when the
format carries one, warnings, the text of the files it pulled in (they count in the
doc's hash), or a reason to skip the file. ``ingest/documents.py`` holds the map from file
type to parser; the parsers here cover Markdown (with the MkDocs, Zulip and Docusaurus
dialects), MDX, HTML and plain text; ``ingest/rst.py`` and ``ingest/pdf.py`` the others.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest import mdx, mkdocs
from ingest.includes import Includes
from ingest.markdown_blocks import without_indented_code
from ingest.markup import map_outside_code, squeeze_blank_lines, strip_tags


@dataclass(frozen=True, slots=True)
class Source:
    """A file handed to a parser: ``text`` is its content after front matter (empty for PDF)."""

    path: Path  # root / rel, not resolved: includes are looked up from here
    root: Path
    text: str
    raw: bytes
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parser's result: the body as Markdown, or the reason the file is skipped."""

    body: str = ""
    title: str = ""
    warnings: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()  # text of included files, so editing one re-ingests the page
    skip: str = ""
    included: tuple[str, ...] = ()  # their paths below the root: fragments, not pages (documents.py)


Parser = Callable[[Source], Parsed]


def _done(body: str, includes: Includes, title: str = "") -> Parsed:
    return Parsed(squeeze_blank_lines(body).strip("\n"), title, tuple(includes.warnings),
                  tuple(includes.files[k] for k in sorted(includes.files)), included=includes.included())


def parse_markdown(src: Source) -> Parsed:
    """Markdown, with includes resolved and MkDocs/Zulip/Docusaurus markup as labelled text."""
    includes = Includes(src.root)
    body = includes.expand(src.text, src.path)
    body = mkdocs.render(body)
    lines = map_outside_code(body.split("\n"), mdx.admonitions)
    body = "\n".join(map_outside_code(lines, lambda run: strip_tags("\n".join(run)).split("\n") if run else run))
    return _done(body, includes)


def parse_mdx(src: Source) -> Parsed:
    """MDX (Docusaurus): ESM dropped, components unwrapped, admonitions labelled."""
    includes = Includes(src.root)
    return _done(without_indented_code(mdx.render(src.text, src.path, includes)), includes)


def parse_html(src: Source) -> Parsed:
    """An HTML page's main content as Markdown, through the website source's extraction
    (``ingest/sources/extract.py``: no navigation, sidebars or footers); titled by its <title>."""
    from ingest.sources.extract import extract  # trafilatura is loaded only for folders that have HTML

    page = extract(src.text)
    return Parsed(page.markdown.strip("\n"), page.head_title or page.title, tuple(page.warnings))


def parse_text(src: Source) -> Parsed:
    """Plain text, as it is."""
    return Parsed(src.text)


def docusaurus_url(rel_path: str, fields: dict[str, object], base_url: str) -> str | None:
    """The page URL that front matter ``slug`` (or ``id``) gives, Docusaurus-style, or None.

    An absolute slug (``/api/x``) is from the site root; a relative one, and an ``id``,
    replace the file name within its folder.
    """
    slug, ident = fields.get("slug"), fields.get("id")
    base = base_url.rstrip("/")
    folder = posixpath.dirname(rel_path)
    if isinstance(slug, str) and slug.strip():
        slug = slug.strip()
        if slug.startswith("/"):
            return base + (slug if slug != "/" else "")
        return f"{base}/{posixpath.join(folder, slug)}"
    if isinstance(ident, str) and ident.strip() and "/" not in ident:
        return f"{base}/{posixpath.join(folder, ident.strip())}"
    return None
