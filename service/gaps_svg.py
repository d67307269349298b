"""The gap report's charts as standalone SVG (no script, no assets), drawn on the server.

The console shows each as an ``<img>`` (a data: URL), so nothing in them can run, and every
text is escaped here. Same approach as the evaluation report's trend (eval/report_svg.py).
"""

from __future__ import annotations

from html import escape
from typing import Any

OPEN, CLOSED, BAR, AXIS = "#d9480f", "#2f9e44", "#1971c2", "#ced4da"
FONT = 'font-family="system-ui, sans-serif"'


def _svg(width: int, height: int, label: str, parts: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" {FONT}>'
            f'<rect width="{width}" height="{height}" fill="#fff"/>' + "".join(parts) + "</svg>")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def hbars(rows: list[tuple[str, float, str]], title: str, *, width: int = 760) -> str:
    """Horizontal bars, one row per (label, value, colour), longest value = full width."""
    left, right, top, row_h = 330, 50, 30, 22
    height = top + row_h * max(1, len(rows)) + 10
    top_value = max((v for _, v, _ in rows), default=0) or 1
    parts = [f'<text x="8" y="18" font-size="13" font-weight="600">{escape(title)}</text>']
    if not rows:
        parts.append(f'<text x="8" y="{top + 14}" font-size="12" fill="#666">Nothing yet.</text>')
    for n, (label, value, colour) in enumerate(rows):
        y = top + n * row_h
        w = (width - left - right) * value / top_value
        parts.append(f'<text x="{left - 8}" y="{y + 14}" font-size="12" text-anchor="end">'
                     f'{escape(_cut(label, 52))}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{colour}"/>'
                     f'<text x="{left + w + 6:.1f}" y="{y + 14}" font-size="12">{value:g}</text>')
    return _svg(width, height, title, parts)


def rate_columns(points: list[tuple[str, float, int]], title: str, *, width: int = 760, height: int = 220) -> str:
    """Columns of a 0..1 rate per day (label, rate, conversations), with 0/50/100 % guides."""
    left, right, top, bottom = 44, 16, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<text x="8" y="18" font-size="13" font-weight="600">{escape(title)}</text>']
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{AXIS}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick:.0%}</text>')
    if not points:
        parts.append(f'<text x="{left + 8}" y="{top + plot_h / 2:.1f}" font-size="12" fill="#666">No conversations '
                     "yet.</text>")
    slot = min(plot_w / max(1, len(points)), 60.0)  # a few days stay columns, not a floor
    step = max(1, len(points) // 10)
    for n, (label, rate, count) in enumerate(points):
        x, h = left + n * slot, plot_h * max(0.0, min(1.0, rate))
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{max(h, 0.5):.1f}" fill="{BAR}"><title>{escape(label)}: {rate:.0%} of '
                     f"{count}</title></rect>")
        if n % step == 0 or n == len(points) - 1:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16}" font-size="10" '
                         f'text-anchor="middle">{escape(label[5:])}</text>')
    return _svg(width, height, title, parts)


def charts(report: dict[str, Any]) -> dict[str, str]:
    """The report's three charts: gap groups by size, deflection per day, most cited pages."""
    groups = [(f"{g['label']}", float(g["size"]), CLOSED if g["status"] == "closed" else OPEN)
              for g in report["groups"][:12]]
    days = [(d["day"], float(d["rate"]), int(d["conversations"])) for d in report["deflection"][-60:]]
    pages = [(c["doc_path"], float(c["count"]), BAR) for c in report["citations"][:12]]
    return {"gaps": hbars(groups, "Gap groups by size (orange: open, green: closed)"),
            "deflection": rate_columns(days, "Deflection rate per day (answered, no thumbs-down, no handoff)"),
            "citations": hbars(pages, "Most cited pages")}
