"""Human-facing pages: the demo docs site at /, public docs at /docs/{path}, static assets.

/docs serves the docs folder and the named sources that cite /docs (``service.source_pages``).

Pages are filled from small templates in ``service/static`` with values that are
escaped here; the docs themselves go through ``service.docs_render``. Every page
carries a strict Content-Security-Policy: scripts and styles from this origin only.
"""

from __future__ import annotations

import html
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from docent.errors import NotFoundError
from docent.settings import Settings
from service.api.deps import RuntimeDep
from service.api.html import STATIC_DIR, TYPES, fill, page, static_response
from service.docs_lookup import PageLink, page_links
from service.docs_render import page_href, render_page
from service.source_pages import find_public_page, public_documents

router = APIRouter(include_in_schema=False)
_ASSET = re.compile(r"^[a-z0-9_-]+\.(css|js|svg)$")


def _widget_tag(settings: Settings) -> str:
    """The embed tag for the first configured site (the demo's), or nothing without sites."""
    if not settings.widget.sites:
        return "<!-- no widget site configured (DOCENT_WIDGET__SITES) -->"
    site_id = html.escape(settings.widget.sites[0].site_id)
    return f'<script src="/widget.js" data-docent-key="{site_id}" async></script>'


def _nav(links: list[PageLink], current: str = "") -> str:
    out, section = [], None
    for link in links:
        if link.section != section:
            if section is not None:
                out.append("</ul>")
            section = link.section
            out.append(f"<h3>{html.escape(section or 'General')}</h3><ul>")
        mark = ' aria-current="page"' if link.href == current else ""
        out.append(f'<li><a href="{html.escape(link.href)}"{mark}>{html.escape(link.title)}</a></li>')
    return "".join(out) + ("</ul>" if links else "")


@router.get("/")
def demo(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """A small docs site with the widget embedded: open it and ask."""
    settings = runtime.settings
    site = settings.widget.sites[0].site_id if settings.widget.sites else "SITE_ID"
    origin = str(request.base_url).rstrip("/")
    snippet = f'<script src="{origin}/widget.js" data-docent-key="{site}" async></script>'
    nav = _nav(page_links(public_documents(settings, runtime.visibility)))
    return page(fill("demo.html", nav=nav, snippet=html.escape(snippet), widget=_widget_tag(settings)))


@router.get("/docs")
def docs_index(runtime: RuntimeDep) -> HTMLResponse:
    """The list of public pages."""
    links = page_links(public_documents(runtime.settings, runtime.visibility))
    body = "<h1>Documentation</h1>" + _nav(links).replace("<h3>", "<h2>").replace("</h3>", "</h2>")
    return page(fill("doc.html", title="Documentation", nav=_nav(links), body=body, toc="",
                     widget=_widget_tag(runtime.settings)))


# A sync route on purpose, like every page here: Starlette runs it in its threadpool, so
# reading and rendering a page (CPU work on document text) never blocks the event loop.
@router.get("/docs/{path:path}")
def doc_page(path: str, runtime: RuntimeDep) -> HTMLResponse:
    """A public doc rendered to HTML; internal, missing and unreadable pages are 404 alike."""
    settings = runtime.settings
    doc = find_public_page(settings, path, runtime.visibility)
    if doc is None:
        raise NotFoundError("No public page at this address.")
    rendered = render_page(doc)
    body = rendered.html
    if not any(level == 1 for level, _, _ in rendered.headings):
        body = f"<h1>{html.escape(doc.title)}</h1>\n{body}"
    toc = "".join(f'<li class="l{level}"><a href="#{html.escape(anchor)}">{html.escape(text)}</a></li>'
                  for level, text, anchor in rendered.headings if level in (2, 3))
    links = page_links(public_documents(settings, runtime.visibility))
    return page(fill("doc.html", title=html.escape(doc.title), nav=_nav(links, page_href(doc.path)), body=body,
                     toc=f'<nav class="toc" aria-label="On this page"><h2>On this page</h2><ul>{toc}</ul></nav>'
                     if toc else "", widget=_widget_tag(settings)))


@router.get("/static/{name}")
def asset(name: str, request: Request) -> Response:
    """Stylesheets and scripts of the pages and the console (a fixed folder, no sub-paths)."""
    match = _ASSET.match(name)
    if match is None or not (STATIC_DIR / name).is_file():
        raise NotFoundError("Not found.")
    return static_response(request, name, TYPES[match.group(1)])
