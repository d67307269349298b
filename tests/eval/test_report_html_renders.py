"""The HTML report is one self-contained file with the tables and the SVG trend chart."""

from __future__ import annotations

from html.parser import HTMLParser

from eval.records import RunRecord
from eval.report_html import render
from tests.eval.conftest import make_record


class Outline(HTMLParser):
    """Collects what the assertions need: rows per table id, SVG shapes, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.table: list[str | None] = []
        self.in_tbody = False
        self.rows: dict[str, list[str]] = {}
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "table":
            self.table.append(a.get("id"))
        elif tag == "tbody":
            self.in_tbody = True
        elif tag == "tr" and self.in_tbody and self.table and self.table[-1]:
            self.rows.setdefault(str(self.table[-1]), []).append(str(a.get("data-id", "")))
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(str(a[key]))
        if tag == "link":
            self.external.append("link")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table.pop()
        elif tag == "tbody":
            self.in_tbody = False


def _history() -> list[RunRecord]:
    first = make_record("20250101T000000Z-000", {"q1": {"faithfulness": 0.9}, "q2": {"faithfulness": 0.8}})
    second = make_record("20250102T000000Z-000", {"q1": {"faithfulness": 0.7}, "q2": {"faithfulness": 0.8}})
    third = make_record(
        "20250103T000000Z-000",
        {"q1": {"faithfulness": 0.2}, "q2": {"faithfulness": 0.9}, "q3": {"faithfulness": None}},
        cited={"q1": "guide/proxies.md"},
        answered={"q3": False},
    )
    return [first, second, third]


def test_report_html_renders_tables_and_chart() -> None:
    """Per-question rows, aggregates, low-faithfulness pages, abstentions and a trend polyline."""
    history = _history()
    page = render(history[-1], history, low_faithfulness=0.5)
    outline = Outline()
    outline.feed(page)

    assert outline.rows["questions"] == ["q1", "q2", "q3"]
    assert len(outline.rows["aggregates"]) >= 10
    assert outline.rows["low-faithfulness-pages"] and "guide/proxies.md" in page
    assert len(outline.rows["abstained"]) == 1
    assert "svg" in outline.tags and outline.tags.count("polyline") >= 1 and "circle" in outline.tags
    assert outline.tags.count("details") >= 3  # every question row expands
    assert outline.external == []  # self-contained: no src, href or stylesheet link
    assert "-0.200" in page  # faithfulness 0.75 -> 0.55 on the two questions both runs asked


def test_report_html_renders_first_run_without_previous() -> None:
    """A first run has no deltas and a one-point chart, and still renders every question."""
    first = _history()[0]
    outline = Outline()
    outline.feed(render(first, [first]))
    assert outline.rows["questions"] == ["q1", "q2"] and "svg" in outline.tags
