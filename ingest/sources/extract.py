"""A fetched HTML page -> the Markdown the splitter reads: main content only (trafilatura),
headings keeping their ids as ``{#id}`` anchors, plus the page's title, canonical URL and links."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin

import lxml.html
import trafilatura

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class Page:
    """What one HTML page gives the index and the crawler."""

    title: str
    markdown: str
    canonical: str | None
    links: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _anchored(markdown: str, ids: dict[str, str]) -> str:
    """Add ``{#id}`` to each Markdown heading whose text matches an HTML heading with an id."""
    out: list[str] = []
    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if match:
            text = match.group(2).rstrip("#¶ ").strip()  # a permalink sign is not part of the title
            anchor = ids.get(_norm(text))
            if out and out[-1].strip():
                out.append("")  # trafilatura may glue a heading to the line before it
            line = f"{match.group(1)} {text}" + (f" {{#{anchor}}}" if anchor else "")
        out.append(line)
    return "\n".join(out).strip() + "\n"


def extract(html: str, url: str) -> Page:
    """Main content as Markdown, the title, the canonical URL (absolute) and the page's links."""
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return Page("", "", None)
    ids: dict[str, str] = {}
    for heading in tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6"):
        anchor = heading.get("id") or next((a.get("id") or a.get("name") for a in heading.xpath(".//a[@id or @name]")),
                                           None)
        text = _norm(heading.text_content()).rstrip("#¶ ").strip()
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
    title = _SPACE.sub(" ", title_nodes[0].text_content()).strip().rstrip("#¶ ") if title_nodes else ""
    body = trafilatura.extract(html, url=url, output_format="markdown", include_formatting=True,
                               include_tables=True, include_links=False, include_images=False,
                               include_comments=False, favor_recall=True) or ""
    return Page(title[:200], _anchored(body, ids) if body.strip() else "", canonical, links)
