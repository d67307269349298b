"""The run report: one self-contained HTML file (inline CSS, JS and SVG; no external assets).

The console gets the same page with the script from this origin instead (``for_console``).

Sections: the gate's verdict (question by question, why each score moved), aggregates
with deltas against the previous run, a trend chart over past
runs, a per-question table (sortable; each row expands to the question, answer,
citations, retrieved contexts and every metric), pages most often cited in
low-faithfulness answers, and the questions that abstained.
"""

from __future__ import annotations

import json
import time
from functools import lru_cache
from html import escape
from pathlib import Path

from eval.analysis import abstained, compare, low_faithfulness_pages
from eval.records import RATE_KEYS, QuestionResult, RunRecord
from eval.report_gate import gate_section
from eval.report_svg import trend_svg

TABLE_METRICS = (
    "faithfulness",
    "answer_relevancy",
    "context_precision",
    "context_recall",
    "citation_support",
    "citation_validity",
    "grounding",
    "gold_cited",
    "reference_recall",
    "hit@5",
    "nonllm_context_recall",
)
HIGHER_BETTER_FLOOR = 0.005  # deltas smaller than this are shown as unchanged

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1280px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}th{background:#f6f6f6;cursor:pointer;white-space:nowrap}td.num{text-align:right;
font-variant-numeric:tabular-nums}.up{color:#1a7f37}.down{color:#cf222e}.muted{color:#777}
.bad{background:#ffebe9}.meta td{border:0;padding:2px 8px}details summary{cursor:pointer}
pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;margin:4px 0;font-size:12px}
.ctx{border-left:3px solid #ccc;padding-left:8px;margin:6px 0}td.q{min-width:340px}
#aggregates,.meta{width:auto}#aggregates td{min-width:90px}
"""
# Click a header to sort by it. One source, two deliveries: inlined into the report file (it opens
# anywhere, self-contained) and served as /static/eval-report.js to the console, whose
# Content-Security-Policy runs scripts from its own origin only (see ``for_console``).
SCRIPT_FILE = Path(__file__).resolve().parents[1] / "service" / "static" / "eval-report.js"
SCRIPT_URL = "/static/eval-report.js"


@lru_cache(maxsize=1)
def _script() -> str:
    return SCRIPT_FILE.read_text(encoding="utf-8")


def for_console(report: str) -> str:
    """A stored report with its inline script swapped for ``<script src=SCRIPT_URL>``."""
    start = report.find("<script>")
    end = report.find("</script>", start)
    if start < 0 or end < 0:
        return report
    return f'{report[:start]}<script src="{SCRIPT_URL}"></script>{report[end + len("</script>"):]}'


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts else "–"


def _aggregates(record: RunRecord, previous: RunRecord | None) -> str:
    comparison = compare(record, previous) if previous else None
    rows = []
    for metric in (
        *RATE_KEYS,
        "latency_p50_ms",
        "latency_p95_ms",
        "prompt_tokens_mean",
        "completion_tokens_mean",
    ):
        value = record.aggregates.get(metric)
        cell = "<td class='muted'>–</td>"
        delta = comparison.deltas.get(metric) if comparison else None
        if delta is not None and delta.change is not None:
            cls = (
                "muted" if abs(delta.change) < HIGHER_BETTER_FLOOR else ("up" if delta.change > 0 else "down")
            )
            cell = f"<td class='num {cls}' data-v='{delta.change:.4f}'>{delta.change:+.3f}</td>"
        digits = 0 if metric.endswith(("_ms", "_mean")) else 3
        rows.append(f"<tr><td>{escape(metric)}</td><td class='num'>{_fmt(value, digits)}</td>{cell}</tr>")
    basis = (
        f"vs run {escape(previous.id)} on the {len(comparison.common)} questions both asked"
        if previous and comparison
        else "no previous run"
    )
    return (
        f"<p class='muted'>Deltas {basis}.</p><table id='aggregates'><thead><tr><th>metric</th><th>value</th>"
        f"<th>Δ</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _detail(q: QuestionResult) -> str:
    s = q.sample
    cites = "".join(
        f"<li>[{c.marker}] {escape(' > '.join(c.heading_path) or c.title)} "
        f"<span class='muted'>{escape(c.doc_path)}</span></li>"
        for c in s.citations
    )
    contexts = "".join(
        f"<div class='ctx'><b>{i}.</b> {escape(' > '.join(c.heading_path))} "
        f"<span class='muted'>{escape(c.doc_path)} · sim {c.similarity:.2f}</span>"
        f"<pre>{escape(c.text)}</pre></div>"
        for i, c in enumerate(s.contexts, start=1)
    )
    metrics = "".join(
        f"<tr><td>{escape(k)}</td><td class='num'>{_fmt(v)}</td><td>{escape(q.errors.get(k, ''))}"
        f"</td><td class='num'>{q.seconds.get(k, 0):.1f}s</td></tr>"
        for k, v in sorted(q.scores.items())
    )
    history = "".join(
        f"<div class='muted'>{escape(m['role'])}: {escape(m['content'])}</div>" for m in s.history
    )
    extra = "".join(
        f"<details><summary>{escape(k)} detail</summary><pre>{escape(json.dumps(v, indent=1))}</pre>"
        f"</details>"
        for k, v in q.details.items()
    )
    withdrawn = "".join(f"<li>{escape(u)}</li>" for u in s.unsupported_sentences)
    withdrawn_html = (
        f"<p><b>Withdrawn by the grounding verifier</b> (never shown)</p><ul>{withdrawn}</ul>" if withdrawn else ""
    )
    verdict = "answered" if s.answered else f"abstained ({escape(s.abstain_reason or '')})"
    if s.answer_mode:
        verdict += f", {escape(s.answer_mode)}"
    if q.reused:
        verdict += "; reused from an earlier run with identical inputs: " + escape(", ".join(q.reused))
    return (
        f"<details><summary>{escape(s.question)}</summary>{history}"
        f"<p><b>Reference:</b> {escape(q.reference)}</p><p><b>Answer</b> ({verdict}, "
        f"{s.latency_ms:.0f} ms, {s.prompt_tokens}+{s.completion_tokens} tokens):</p><pre>{escape(s.answer)}</pre>"
        f"{f'<p><b>Error:</b> {escape(s.error)}</p>' if s.error else ''}{withdrawn_html}"
        f"<p><b>Citations</b></p><ul>{cites or '<li>none</li>'}</ul><p><b>Retrieved contexts</b></p>{contexts}"
        f"<table><tr><th>metric</th><th>score</th><th>error</th><th>time</th></tr>{metrics}</table>{extra}"
        f"</details>"
    )


def _questions(record: RunRecord, low: float) -> str:
    head = "".join(
        f"<th>{escape(h)}</th>" for h in ("id", "kind", "question", "abstained", *TABLE_METRICS, "latency ms")
    )
    rows = []
    for q in record.questions:
        faith = q.scores.get("faithfulness")
        cls = (
            " class='bad'"
            if (faith is not None and faith < low) or q.scores.get("abstention_correct") == 0
            else ""
        )
        cells = [
            f"<td data-v='{escape(q.id)}'>{escape(q.id)}</td>",
            f"<td data-v='{escape(q.kind)}'>{escape(q.kind)}</td>",
            f"<td class='q' data-v='{escape(q.sample.question)}'>{_detail(q)}</td>",
            f"<td data-v='{int(not q.sample.answered)}'>{'yes' if not q.sample.answered else ''}</td>",
        ]
        for metric in TABLE_METRICS:
            v = q.scores.get(metric)
            cells.append(f"<td class='num' data-v='{'' if v is None else f'{v:.4f}'}'>{_fmt(v, 2)}</td>")
        cells.append(f"<td class='num' data-v='{q.sample.latency_ms:.0f}'>{q.sample.latency_ms:.0f}</td>")
        rows.append(f"<tr data-id='{escape(q.id)}'{cls}>{''.join(cells)}</tr>")
    return (
        f"<table id='questions' class='sortable'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _pages(record: RunRecord, low: float) -> str:
    pages = low_faithfulness_pages(record, low)
    if not pages:
        return f"<p class='muted'>No answer scored below {low:g} faithfulness.</p>"
    rows = "".join(
        f"<tr><td>{escape(doc)}</td><td class='num'>{n}</td><td>{escape(', '.join(ids))}</td></tr>"
        for doc, n, ids in pages
    )
    return (
        f"<table id='low-faithfulness-pages'><thead><tr><th>page</th><th>cited in</th><th>questions</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _abstained(record: RunRecord) -> str:
    expected = {True: "<td class='down'>no: should answer</td>", False: "<td class='up'>yes</td>"}
    rows = "".join(
        f"<tr><td>{escape(q.id)}</td><td>{escape(q.sample.question)}</td>"
        f"<td>{escape(q.sample.abstain_reason or '')}</td>{expected[q.expected_answer]}</tr>"
        for q in abstained(record)
    )
    if not rows:
        return "<p class='muted'>No question abstained.</p>"
    return (
        f"<table id='abstained'><thead><tr><th>id</th><th>question</th><th>reason</th><th>expected</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def render(record: RunRecord, history: list[RunRecord], *, low_faithfulness: float = 0.5) -> str:
    """The report for ``record``; ``history`` is past runs, oldest first (``record`` last)."""
    ids = [r.id for r in history]
    previous = history[ids.index(record.id) - 1] if record.id in ids and ids.index(record.id) > 0 else None
    changed = ", ".join(f"{kind}: {', '.join(paths)}" for kind, paths in record.docs_changed.items() if paths)
    meta = {
        "run": record.id,
        "started": _when(record.started_at),
        "subset": record.subset,
        "questions": str(len(record.questions)),
        "corpus fingerprint": record.corpus_fingerprint,
        "answering model": record.models.get("answer", ""),
        "judge": record.models.get("judge", "") or "none",
        "source": record.source,
        "docs changed since previous run": changed or "none",
        "notes": "; ".join(record.notes) or "–",
    }
    meta_rows = "".join(
        f"<tr><td class='muted'>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in meta.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Docent eval {escape(record.id)}</title>
<style>{CSS}</style></head><body>
<h1>Docent evaluation {escape(record.id)}</h1>
<table class="meta">{meta_rows}</table>
<h2>Gate</h2>{gate_section(record.gate)}
<h2>Aggregates</h2>{_aggregates(record, previous)}
<h2>Trend over the last {len(history)} runs</h2>{trend_svg(history)}
<h2>Questions</h2><p class="muted">Click a header to sort; click a question to expand it.</p>
{_questions(record, low_faithfulness)}
<h2>Pages most often cited in low-faithfulness answers (&lt; {low_faithfulness:g})</h2>
{_pages(record, low_faithfulness)}
<h2>Questions that abstained</h2>{_abstained(record)}
<script>{_script()}</script>
</body></html>
"""
