"""HTML pages become the same markdown blocks the splitter reads (stdlib only).

The page is fed to :class:`html.parser.HTMLParser` in one piece. Python 3.11's parser
is quadratic on constructs that never end (``<a `` x 100 KB took 196 s: at EOF it re-scans
the rest of the input from every ``<``) and raises AssertionError on ``<![``, so
:class:`_ToMarkdown` ends such constructs the way HTML5 does: an unterminated tag or
declaration at the end of the page is dropped, an unterminated comment runs to the end.
"""

from __future__ import annotations

from html.parser import HTMLParser

_SKIP = {"script", "style", "nav", "footer", "header", "noscript", "svg"}


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
        if tag in _SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
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
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
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
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6", "p"}:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title += data
        elif self._cell is not None:
            self._cell.append(data)
        elif self._pre:
            self.out.append(data)
        else:
            self.out.append(" ".join(data.split()) + (" " if data.endswith(" ") else ""))


def html_to_markdown(html: str) -> tuple[str, str]:
    """(title, markdown body) of an HTML page."""
    parser = _ToMarkdown()
    parser.feed(html)
    parser.close()
    return parser.title.strip(), "".join(parser.out).strip()
