"""HTML pages become the same markdown blocks the splitter reads (stdlib only).

The page is fed to :class:`html.parser.HTMLParser` in one piece. Python 3.11's parser
is quadratic on constructs that never end (``<a `` x 100 KB took 196 s: at EOF it re-scans
the rest of the input from every ``<``) and raises AssertionError on ``<![``, so
:class:`_ToMarkdown` ends such constructs the way HTML5 does: an unterminated tag or
declaration at the end of the page is dropped, an unterminated comment runs to the end.

It is the fallback of ``ingest/sources/extract.py`` (the main-content extraction every HTML
page goes through) for pages where that finds no main content: small fragments, a page
that is only a table. Headings keep their ids as ``{#id}`` anchors, as there.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from ingest.markup import map_outside_code, squeeze_blank_lines

_SKIP = {"script", "style", "nav", "footer", "header", "noscript", "svg"}
_MAIN = {"main", "article"}  # an article's own <header> (its title) and <footer> are content
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_PERMALINKS = {"", "#", "¶", "§", "🔗"}


@dataclass(frozen=True, slots=True)
class HtmlReading:
    """What the stdlib reading of a page gives: its <title>, its text as Markdown, and the most
    attributes one tag had and cells one row had (lxml and trafilatura are quadratic in those)."""

    title: str
    markdown: str
    max_attributes: int = 0
    widest_row: int = 0


class _ToMarkdown(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._pre = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._rows_in_table = 0
        self._main = 0
        self._heading: list[str] | None = None
        self._heading_id = ""
        self.max_attributes = 0
        self.widest_row = 0
        self._row_cells = 0

    def _skipped(self, tag: str) -> bool:
        return tag in _SKIP and not (tag in {"header", "footer"} and self._main)

    # The whole page is fed at once, so "no terminator after i" means there never will be
    # one: consume the rest (return its end) instead of letting goahead() re-scan it.
    def _or_rest(self, i: int, terminator: str) -> int | None:
        return len(self.rawdata) if self.rawdata.find(terminator, i) < 0 else None

    def parse_starttag(self, i: int) -> int:
        rest = self._or_rest(i, ">")
        return rest if rest is not None else super().parse_starttag(i)

    def parse_endtag(self, i: int) -> int:
        rest = self._or_rest(i, ">")
        return rest if rest is not None else super().parse_endtag(i)

    def parse_comment(self, i: int, report: bool = True) -> int:
        rest = self._or_rest(i + 4, "-->")
        return rest if rest is not None else super().parse_comment(i, report)

    def parse_pi(self, i: int) -> int:
        rest = self._or_rest(i, ">")
        return rest if rest is not None else super().parse_pi(i)

    def parse_html_declaration(self, i: int) -> int:
        end = self.rawdata.find(">", i)
        if end < 0:
            return len(self.rawdata)
        if self.rawdata.startswith("<![", i):  # CDATA / marked section: a bogus comment in HTML5
            return end + 1
        return super().parse_html_declaration(i)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.max_attributes = max(self.max_attributes, len(attrs))
        if tag in {"tr", "table"}:
            self._row_cells = 0
        elif tag in {"td", "th"}:
            self._row_cells += 1
            self.widest_row = max(self.widest_row, self._row_cells)
        if self._skipped(tag):
            self._skip += 1
        elif self._skip:
            return  # inside a skipped element nothing is written, not even list markers
        elif tag in _MAIN:
            self._main += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADINGS:
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
            self._heading = []
            self._heading_id = dict(attrs).get("id") or ""
        elif tag == "a" and self._heading is not None and not self._heading_id:
            self._heading_id = dict(attrs).get("id") or dict(attrs).get("name") or ""
        elif tag == "pre":
            self._pre = True
            self.out.append("\n\n```\n")
        elif tag in {"p", "div", "section", "article", "ul", "ol"}:
            self.out.append("\n\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "table":
            self._rows_in_table = 0
            self.out.append("\n\n")
        elif tag == "tr":
            self._row = []
        elif tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if self._skipped(tag):
            self._skip = max(0, self._skip - 1)
        elif self._skip:
            return
        elif tag in _MAIN:
            self._main = max(0, self._main - 1)
        elif tag in _HEADINGS and self._heading is not None:
            # A permalink ("¶", "#" in a link of its own) is not part of the title ("C#" is).
            while self._heading and self._heading[-1].strip() in _PERMALINKS:
                self._heading.pop()
            text = " ".join("".join(self._heading).split()).rstrip("¶ ")
            anchor = " ".join(self._heading_id.split())
            self.out.append(text + (f" {{#{anchor}}}" if anchor and text and " " not in anchor else "") + "\n\n")
            self._heading = None
        elif tag == "title":
            self._in_title = False
        elif tag == "pre":
            self._pre = False
            self.out.append("\n```\n\n")
        elif tag in {"td", "th"} and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.out.append("| " + " | ".join(self._row) + " |\n")
            if self._rows_in_table == 0:
                self.out.append("|" + "---|" * len(self._row) + "\n")
            self._rows_in_table += 1
            self._row = None
        elif tag == "p":
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._heading is not None:
            self._heading.append(data)
        elif self._cell is not None:
            self._cell.append(data)
        elif self._pre:
            self.out.append(data)
        else:
            words = " ".join(data.split())
            # Spaces at either end separate this text from its neighbours ("the <code>x</code> flag").
            lead = " " if data[:1].isspace() and words else ""
            self.out.append(lead + words + (" " if data[-1:].isspace() else ""))


def read_html(html: str) -> HtmlReading:
    """The whole page (less scripts, navigation, site header and footer) as Markdown."""
    parser = _ToMarkdown()
    parser.feed(html)
    parser.close()
    lines = map_outside_code("".join(parser.out).split("\n"), lambda run: [line.strip() for line in run])
    return HtmlReading(" ".join(parser.title.split()), squeeze_blank_lines("\n".join(lines)).strip(),
                       parser.max_attributes, parser.widest_row)


def html_to_markdown(html: str) -> tuple[str, str]:
    """(title, markdown body) of an HTML page, as :func:`read_html` reads it."""
    reading = read_html(html)
    return reading.title, reading.markdown
