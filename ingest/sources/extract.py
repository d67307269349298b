"""An HTML page -> the Markdown the splitter reads: main content only (trafilatura), headings
keeping their ids as ``{#id}`` anchors, plus the page's titles, canonical URL and links.

One function for every HTML page: the website source's fetched pages and local ``.html``
files (``ingest/formats.py: parse_html``). Navigation, sidebars, cookie banners and site
footers are dropped; tables, code blocks and lists are kept.

Where trafilatura finds no main content it either returns nothing (a small fragment) or
dumps the page as flat text (its "baseline": headings become plain lines, code loses its
fence). Then the stdlib reading (``ingest/html_parser.py``) is used instead: the whole page
less scripts, navigation, site header and footer, with its structure. That loses nothing,
so it is silent.

Hostile input: lxml (libxml2) and trafilatura are quadratic in the attributes of one tag
(30,000 took 1.7 s and 12 s), trafilatura in the cells of one table row (30,000 ``<th>``:
28 s), and libxml2 drops everything after a point nested deeper than 256 elements. Such
pages are read by the (linear) stdlib parser only, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin

import lxml.html
import trafilatura
from lxml.html import HtmlElement

from ingest.html_parser import HtmlReading, read_html

MAX_ATTRIBUTES = 256  # per tag; real pages have a handful
MAX_ROW_CELLS = 256  # per table row; real tables have tens
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class Page:
    """What one HTML page gives the index and the crawler."""

    title: str  # the first H1, else <title>
    markdown: str
    canonical: str | None
    links: list[str] = field(default_factory=list)
    head_title: str = ""  # the <title>
    warnings: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _unlinked(text: str) -> str:
    """A heading's text without its permalink sign ("Setup ¶", "Setup #"); "C#" keeps its "#"."""
    text = text.rstrip().rstrip("¶§🔗").rstrip()
    return text[:-2].rstrip() if text.endswith(" #") else text


def _anchored(markdown: str, ids: dict[str, str]) -> str:
    """Add ``{#id}`` to each Markdown heading whose text matches an HTML heading with an id."""
    out: list[str] = []
    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if match:
            text = _unlinked(match.group(2))
            anchor = ids.get(_norm(text))
            if out and out[-1].strip():
                out.append("")  # trafilatura may glue a heading to the line before it
            line = f"{match.group(1)} {text}" + (f" {{#{anchor}}}" if anchor else "")
        out.append(line)
    return "\n".join(out).strip() + "\n"


def _flattened(markdown: str, headings: set[str]) -> bool:
    """True for trafilatura's flat-text dump: no Markdown heading, but a page heading as a plain line."""
    lines = markdown.splitlines()
    if any(_HEADING.match(line) for line in lines):
        return False
    return any(_norm(line) in headings for line in lines if line.strip())


def _fence_bare_pre(tree: HtmlElement) -> None:
    """Wrap a ``<pre>`` that has no ``<code>`` in one: trafilatura fences only ``pre > code``."""
    for pre in tree.iter("pre"):
        if len(pre) and pre[0].tag == "code" and not (pre.text or "").strip():
            continue
        code = lxml.html.Element("code")
        code.text, pre.text = pre.text, None
        for child in list(pre):
            code.append(child)
        pre.append(code)


def _whole(reading: HtmlReading, why: str = "") -> Page:
    """The stdlib reading of the whole page (less scripts, navigation, site header and footer)."""
    return Page(reading.title[:200], reading.markdown + "\n" if reading.markdown else "", None, [], reading.title,
                [f"{why}; read without main-content extraction (menus and sidebars may be indexed)"] if why else [])


def extract(html: str, url: str = "") -> Page:
    """Main content as Markdown, the titles, the canonical URL (absolute) and the page's links."""
    reading = read_html(html)  # linear; the fallback, and the check on what lxml may be given
    if reading.max_attributes > MAX_ATTRIBUTES:
        return _whole(reading, f"a tag has {reading.max_attributes} attributes")
    if reading.widest_row > MAX_ROW_CELLS:
        return _whole(reading, f"a table row has {reading.widest_row} cells")
    parser = lxml.html.HTMLParser()
    try:
        tree = lxml.html.document_fromstring(html, parser=parser)
    except (ValueError, lxml.etree.ParserError):
        return _whole(reading)
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # libxml2 stops at 256 levels of nesting and drops the rest of the page.
        return _whole(reading, "the page nests deeper than libxml2 reads")
    ids: dict[str, str] = {}
    headings: set[str] = set()
    for heading in tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6"):
        anchor = heading.get("id") or next((a.get("id") or a.get("name") for a in heading.xpath(".//a[@id or @name]")),
                                           None)
        text = _norm(_unlinked(heading.text_content()))
        headings.add(text)
        if anchor and text:
            ids.setdefault(text, anchor)
    canonical = next((urljoin(url, h) for h in tree.xpath("//link[@rel='canonical']/@href") if h.strip()), None)
    links = []
    for href in tree.xpath("//a/@href"):
        target = urldefrag(urljoin(url, href.strip()))[0]
        if target.startswith(("http://", "https://")):
            links.append(target)
    # The page's H1 names it better than <title>, which usually ends in " | Site name".
    title_nodes = tree.xpath("//h1") or tree.xpath("//title")
    title = _unlinked(_SPACE.sub(" ", title_nodes[0].text_content()).strip()) if title_nodes else ""
    _fence_bare_pre(tree)
    body = trafilatura.extract(tree, url=url or None, output_format="markdown", include_formatting=True,
                               include_tables=True, include_links=False, include_images=False,
                               include_comments=False, favor_recall=True) or ""
    if (not body.strip() or _flattened(body, headings)) and reading.markdown:
        # No main content: a fragment, a bare table, or a flat-text dump. Nothing is lost by
        # reading the whole page, whose chrome is then at most a banner or a sidebar.
        page = _whole(reading)
        page.title, page.canonical, page.links = title[:200], canonical, links
        return page
    return Page(title[:200], _anchored(body, ids) if body.strip() else "", canonical, links, reading.title)
