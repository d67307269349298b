"""The trend chart: rate metrics over past runs, as inline SVG (no script, no assets)."""

from __future__ import annotations

from html import escape

from eval.records import RunRecord

TREND_METRICS = (
    ("faithfulness", "#1f77b4"),
    ("answer_relevancy", "#ff7f0e"),
    ("context_recall", "#2ca02c"),
    ("citation_support", "#d62728"),
    ("grounding", "#17becf"),
    ("hit@5", "#9467bd"),
    ("abstention_accuracy", "#8c564b"),
)
WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 170, 16, 40


def trend_svg(history: list[RunRecord]) -> str:
    """One line per metric, x = run (oldest left), y = 0..1; gaps where a run lacks the metric."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(history)

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg id="trend" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="metric trend over runs">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{tick:g}</text>'
        )
    step = max(1, n // 8)
    for i, run in enumerate(history):
        if i % step == 0 or i == n - 1:
            label = escape(f"{run.id[4:6]}-{run.id[6:8]} {run.id[9:11]}:{run.id[11:13]}")  # MM-DD HH:MM
            parts.append(
                f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="10" '
                f'text-anchor="middle">{label}</text>'
            )
    for row, (metric, colour) in enumerate(TREND_METRICS):
        segments: list[list[tuple[float, float]]] = [[]]
        dots = []
        for i, run in enumerate(history):
            value = run.aggregates.get(metric)
            if value is None:
                segments.append([])
                continue
            point = (x(i), y(value))
            segments[-1].append(point)
            dots.append(
                f'<circle cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(run.id)} ({escape(run.subset)}, {len(run.questions)} questions) "
                f"{escape(metric)}: {value:.3f}</title></circle>"
            )
        for seg in segments:
            if len(seg) > 1:
                pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in seg)
                parts.append(
                    f'<polyline class="series" data-metric="{escape(metric)}" points="{pts}" '
                    f'fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        parts.extend(dots)
        ly = TOP + 14 + row * 18
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{WIDTH - RIGHT + 28}" y="{ly}" font-size="12">{escape(metric)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
