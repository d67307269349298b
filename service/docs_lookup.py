"""The page lookup and listing behind /docs: which file a ``/docs/<path>`` address names, and
every page of a folder in navigation order.

Visibility is read with the ingest reader itself, so a page is public here exactly
when it is public in the index (broken front matter fails closed as internal).
``service.source_pages`` picks the folder (the docs folder or a named source's copy).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from docent.paths import doc_file
from ingest.documents import SUFFIXES, Document, discover, pages, read_document
from ingest.visibility import DEFAULT_POLICY, VisibilityPolicy
from service.docs_render import DOCS_PREFIX, page_href

_MAX_SEGMENT = 255  # bytes in a file name (NAME_MAX): a longer /docs segment names no file


@dataclass(frozen=True, slots=True)
class PageLink:
    """One page in the docs navigation."""

    title: str
    href: str
    section: str


@lru_cache(maxsize=1024)
def _read(path: str, root: str, base: str, _mtime_ns: int, _size: int, policy: VisibilityPolicy) -> object:
    # Keyed by mtime and size, so an edited page is re-read and an unchanged one is not;
    # and by the policy, so /docs decides visibility exactly as the index does.
    return read_document(Path(path), Path(root), base, policy)


def _document(path: Path, root: Path, policy: VisibilityPolicy, base: str = DOCS_PREFIX) -> Document | None:
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    doc = _read(str(path), str(root), base, stat.st_mtime_ns, stat.st_size, policy)
    return doc if isinstance(doc, Document) else None


def find_doc(docs_dir: Path, url_path: str, policy: VisibilityPolicy = DEFAULT_POLICY,
             base: str = DOCS_PREFIX) -> Document | None:
    """The doc at ``<base>/<url_path>`` in ``docs_dir`` whatever its visibility; callers check who
    may read it. (``service.source_pages.find_page`` picks the folder: docs_dir or a named source's.)"""
    parts = [p for p in url_path.strip("/").split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return None  # no traversal, no hidden files
    if any(len(p.encode("utf-8", "replace")) > _MAX_SEGMENT for p in parts):
        return None  # no such file can exist (and the OS would say "File name too long")
    root = docs_dir.resolve()
    stem = "/".join(parts)
    names = [stem] if Path(stem).suffix.lower() in SUFFIXES else []
    names += [f"{stem}{suffix}" for suffix in SUFFIXES]
    names += [f"{stem}/index{suffix}".lstrip("/") for suffix in SUFFIXES]
    for name in names:
        # The one containment check ingest uses too: no symlinked folder on the way, and a
        # file link must land inside the docs folder. Over-long names are "not found".
        if doc_file(root, Path(name)) is not None:
            return _document(root / name, root, policy, base)
    return None


def find_public(docs_dir: Path, url_path: str, policy: VisibilityPolicy = DEFAULT_POLICY) -> Document | None:
    """The public doc served at ``/docs/<url_path>``; None for missing, internal or unreadable pages."""
    doc = find_doc(docs_dir, url_path, policy)
    # Internal pages are never served at /docs, whoever asks.
    return doc if doc is not None and doc.visibility == "public" else None


def folder_documents(docs_dir: Path, policy: VisibilityPolicy = DEFAULT_POLICY,
                     base: str = DOCS_PREFIX) -> list[Document]:
    """Every page of one docs folder that reads, whatever its visibility, in path order: the one
    listing behind the /docs navigation, llms.txt and llms-full.txt (``service.source_pages``
    runs it on the docs folder and on each named source's copy, then keeps the public pages)."""
    root = docs_dir.resolve()
    docs = []
    for path in discover(root) if root.is_dir() else []:
        doc = _document(path, root, policy, base)
        if doc is not None:
            docs.append(doc)
    return pages(docs)  # a file that another page includes is a fragment, listed as part of that page


def section_of(doc_path: str) -> str:
    """A page's navigation section: its top folder (a named source's pages: the source's name), or ""."""
    return doc_path.split("/")[0].replace("-", " ").capitalize() if "/" in doc_path else ""


def listing_order(doc: Document) -> tuple[bool, str, str]:
    """Top-level pages first, then by section and title: the order of the nav and of llms.txt."""
    return "/" in doc.path, section_of(doc.path), doc.title.lower()


def page_links(docs: list[Document]) -> list[PageLink]:
    """The navigation links of these pages, in listing order."""
    return [PageLink(doc.title, page_href(doc.path), section_of(doc.path)) for doc in sorted(docs, key=listing_order)]


def public_pages(docs_dir: Path, policy: VisibilityPolicy = DEFAULT_POLICY) -> list[PageLink]:
    """Every public page of one folder, top-level pages first, then by folder and title."""
    return page_links([doc for doc in folder_documents(docs_dir, policy) if doc.visibility == "public"])
