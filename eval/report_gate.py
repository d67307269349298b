"""The gate's verdict as an HTML section of the run report (from the verdict stored with the run)."""

from __future__ import annotations

from html import escape
from typing import Any

from eval.noise import not_counted_label


def _num(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def _counted(d: dict[str, Any]) -> str:
    return "regressed" if d.get("regressed") else not_counted_label(str(d.get("cause")))


def _metric(m: dict[str, Any]) -> str:
    noise = (f"noise ±{_num(m.get('noise'), 2)} from {m.get('repeats', 0)} repeats"
             if m.get("noise") is not None else "noise not measured yet")
    status = (f"<span class='down'>REGRESSED</span>: {escape(str(m.get('reason', '')))}" if m.get("failed")
              else "<span class='up'>pass</span>")
    rows = "".join(
        f"<tr{' class=bad' if d.get('regressed') else ''}><td>{escape(str(d['id']))}</td>"
        f"<td>{_counted(d)}</td>"
        f"<td class='num'>{_num(d.get('before'), 2)}</td><td class='num'>{_num(d.get('after'), 2)}</td>"
        f"<td>{escape(str(d.get('question', '')))}</td><td>{escape(str(d.get('why', '')))}</td></tr>"
        for d in m.get("drops", [])
    )
    table = (
        "<table class='gate'><thead><tr><th>id</th><th>counted as</th><th>before</th><th>after</th>"
        f"<th>question</th><th>why it moved</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows else "<p class='muted'>No question dropped.</p>"
    )
    return (
        f"<h3>{escape(str(m.get('metric', '')))}: {_num(m.get('before'))} → {_num(m.get('after'))} "
        f"on {m.get('scored', 0)} questions: {status}</h3>"
        f"<p class='muted'>Tolerance per question {_num(m.get('tolerance'), 2)} (threshold "
        f"{_num(m.get('threshold'), 2)}, {noise}); questions whose inputs changed moved the mean by "
        f"{-float(m.get('changed_drop') or 0):+.3f}.</p>{table}"
    )


def gate_section(gate: dict[str, Any]) -> str:
    """The stored verdict: per gated metric, every question that dropped and why."""
    if not gate:
        return "<p class='muted'>No gate verdict stored with this run.</p>"
    if gate.get("reference") is None:
        return "<p class='muted'>Nothing to compare with (no previous run or baseline).</p>"
    head = (
        f"<p>Against run {escape(str(gate['reference']))} on {gate.get('common', 0)} common questions: "
        f"<b>{escape(str(gate.get('verdict', '')))}</b>. A drop counts only when something the score "
        "depends on changed (a doc, the retrieved chunks, the prompt or settings) and it exceeds the "
        "tolerance; a drop on identical inputs is the models' noise.</p>"
    )
    extra = ""
    if gate.get("not_compared"):
        extra += f"<p class='muted'>Not in both runs: {escape(', '.join(gate['not_compared']))}.</p>"
    if gate.get("docs_changed"):
        extra += f"<p class='muted'>Docs changed since the reference: {escape(', '.join(gate['docs_changed']))}.</p>"
    return head + "".join(_metric(m) for m in gate.get("metrics", [])) + extra
