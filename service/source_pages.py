"""Where a /docs address lives: the default docs folder, or a named source's copy on disk.

A named source without ``url_base`` cites its pages as ``<docs_base_url>/<name>/<path>``
(``ingest/sources/sync.py``), and the default ``docs_base_url`` is Docent's own ``/docs``.
So ``/docs/<name>/<path>`` serves that page from the folder the sync indexed (a folder
source's own folder, a git source's checkout below its subfolder), judged by the rules the
sync applies: the source's visibility policy (``policy_for``), then its include/exclude
globs and its access (``SourceRewrite``: an excluded page is no page, a source marked internal
makes every page internal). Website sources cite the pages' own URLs (every crawled page
keeps its canonical URL), and a git source with a file URL links to the file at its
commit: neither is served here.

This module is the one lookup (``find_page``) and the one listing (``public_documents``)
behind ``/docs``, ``/docs/{path}.md``, ``/llms.txt``, ``/llms-full.txt``, MCP ``get_page``
and the console's page viewer. A source's name owns ``/docs/<name>``: settings refuse a
docs-folder entry of that name at start-up, and one that appears later is shadowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from docent.settings import Settings, SourceSettings
from ingest.documents import Document
from ingest.sources import git
from ingest.sources.state import source_dir
from ingest.sources.sync import SourceRewrite, policy_for
from ingest.visibility import VisibilityPolicy
from service.docs_lookup import find_doc, folder_documents, listing_order
from service.docs_render import DOCS_PREFIX, page_href


@dataclass(frozen=True, slots=True)
class _Root:
    """One folder served under /docs: the docs folder (no prefix) or a named source's copy."""

    prefix: str  # "" or "<name>/": the doc path prefix the index uses too
    folder: Path
    policy: VisibilityPolicy
    rules: Callable[[Document], Document | None] | None = None

    @property
    def base(self) -> str:
        return f"{DOCS_PREFIX}/{self.prefix.rstrip('/')}" if self.prefix else DOCS_PREFIX

    def adopt(self, doc: Document) -> Document | None:
        """The page as the index holds it: prefixed path, the source's access; None when excluded."""
        if self.rules is None:
            return doc
        return self.rules(replace(doc, path=self.prefix + doc.path))


def served_sources(settings: Settings) -> list[SourceSettings]:
    """The sources whose citations point at ``<docs_base_url>/<name>/``: no ``url_base``, and
    a folder, or a git repository with no file URL (a local path, no ``file_url``)."""
    return [s for s in settings.sources if not s.url_base and (
        s.kind == "folder" or (s.kind == "git" and not (s.file_url or git.file_url_template(s.location))))]


def source_folder(settings: Settings, source: SourceSettings) -> Path:
    """The folder a source's sync indexes (as ``sync._materialise`` finds it)."""
    if source.kind == "folder":
        return Path(source.location).expanduser()
    sub = source.subfolder.strip("/")
    repo = source_dir(settings, source) / "repo"
    return repo / sub if sub else repo


def _source_root(settings: Settings, source: SourceSettings) -> _Root:
    prefix = f"{source.name}/"
    # No URL map: a served source's citation is the page's own /docs address.
    rules = SourceRewrite(source, prefix, lambda _rel: None)
    return _Root(prefix, source_folder(settings, source), policy_for(settings, source), rules)


def _shadowed(doc: Document, names: set[str]) -> bool:
    """A docs-folder page whose address falls under a served source's /docs/<name>."""
    head = page_href(doc.path).removeprefix(f"{DOCS_PREFIX}/").split("/")[0]
    return head in names


def find_page(settings: Settings, url_path: str, policy: VisibilityPolicy) -> Document | None:
    """The page at ``/docs/<url_path>`` whatever its visibility (callers check who may read it);
    None when missing, unreadable, outside its folder or excluded by its source. ``policy`` is
    the docs folder's (``runtime.visibility``); a source's pages use the source's own."""
    head, _, rest = url_path.strip("/").partition("/")
    sources = served_sources(settings)
    for source in sources:
        if source.name == head:
            root = _source_root(settings, source)
            doc = find_doc(root.folder, rest or "index", root.policy, root.base)
            return None if doc is None else root.adopt(doc)
    doc = find_doc(settings.docs_dir, url_path, policy)
    # e.g. "<name>.md" asked by its file name: its address /docs/<name> is the source's.
    return None if doc is None or _shadowed(doc, {s.name for s in sources}) else doc


def find_public_page(settings: Settings, url_path: str, policy: VisibilityPolicy) -> Document | None:
    """The page public /docs serves at ``url_path``; None for missing, internal or excluded pages."""
    doc = find_page(settings, url_path, policy)
    # Internal pages are never served at /docs, whoever asks (staff read them in the console).
    return doc if doc is not None and doc.visibility == "public" else None


def public_documents(settings: Settings, policy: VisibilityPolicy) -> list[Document]:
    """Every public page served at /docs, the docs folder's and the served sources' (each under
    its name as a section), top-level pages first, then by section and title."""
    sources = served_sources(settings)
    names = {s.name for s in sources}
    docs = [doc for doc in folder_documents(settings.docs_dir, policy)
            if doc.visibility == "public" and not _shadowed(doc, names)]
    for source in sources:
        root = _source_root(settings, source)
        for found in folder_documents(root.folder, root.policy, root.base):
            doc = root.adopt(found)
            if doc is not None and doc.visibility == "public":
                docs.append(doc)
    return sorted(docs, key=listing_order)
