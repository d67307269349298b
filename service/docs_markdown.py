"""Public docs as Markdown for machines: one page (``/docs/{path}.md``, MCP ``get_page``),
``/llms.txt`` (an index with one-line descriptions) and ``/llms-full.txt`` (every page).

Pages are found and listed exactly as ``/docs`` finds them (``service.source_pages``: the
docs folder and the named sources that cite /docs; the ingest reader, the same visibility
policy, the one containment check), so a page is listed here exactly when it is public in
the index and on ``/docs``.
"""

from __future__ import annotations

from ingest.documents import Document
from ingest.markdown_splitter import scan_blocks
from service.docs_lookup import section_of
from service.docs_render import page_href

_DESCRIPTION_CHARS = 160


def markdown_href(doc: Document) -> str:
    """Where a page's Markdown is served: ``a/b.md`` -> ``/docs/a/b.md``, ``a/index.md`` -> ``/docs/a.md``."""
    href = page_href(doc.path)
    return f"{href}.md" if href != "/docs" else "/docs/index.md"


def page_markdown(doc: Document) -> str:
    """The page as Markdown: its text as ingested, with its title as an H1 when it has none."""
    body = doc.body.strip()
    has_h1 = any(block.kind == "heading" and block.level == 1 for block in scan_blocks(body))
    return f"{body}\n" if has_h1 else f"# {doc.title}\n\n{body}\n"


def description(doc: Document) -> str:
    """One line about the page: its first paragraph, cut at a word near 160 characters."""
    for block in scan_blocks(doc.body):
        if block.kind != "text":
            continue
        line = " ".join(block.text.split())
        if not line or line.startswith(("|", ">", "-", "*", "<")):
            continue
        if len(line) <= _DESCRIPTION_CHARS:
            return line
        return line[:_DESCRIPTION_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " ..."
    return ""


def site_name(docs: list[Document]) -> str:
    """The title of the docs' home page (``index.md`` at the top), else "Documentation"."""
    home = next((d for d in docs if d.path.rsplit(".", 1)[0].lower() in ("index", "readme")), None)
    return home.title if home else "Documentation"


def _section(doc: Document) -> str:
    return section_of(doc.path) or "General"


def llms_txt(docs: list[Document], *, name: str, base: str) -> str:
    """The llms.txt index (llmstxt.org): a title, a summary, and a list of pages per section."""
    out = [f"# {name}", "",
           f"> Public documentation of {name}, as Markdown. Every page: {base}/llms-full.txt", ""]
    section = None
    for doc in docs:
        if _section(doc) != section:
            section = _section(doc)
            out += [f"## {section}", ""] if section == "General" else ["", f"## {section}", ""]
        summary = description(doc)
        title = doc.title.replace("[", "(").replace("]", ")")
        out.append(f"- [{title}]({base}{markdown_href(doc)})" + (f": {summary}" if summary else ""))
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


def llms_full_txt(docs: list[Document], *, name: str, base: str) -> str:
    """Every public page as Markdown, each headed by its source URL."""
    parts = [f"# {name}\n\n> Every public page of the documentation, as Markdown.\n"]
    for doc in docs:
        parts.append(f"<!-- source: {base}{page_href(doc.path)} -->\n\n{page_markdown(doc)}")
    return "\n---\n\n".join(parts)
