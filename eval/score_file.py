"""``docent eval score``: faithfulness of arbitrary rows, outside Docent's own answers.

Input rows are JSON objects with ``id``, ``question``, ``contexts`` (list of strings)
and ``response``. Each output row is the input row plus, per chosen metric:

- ``grounding`` (0..1, or null when the response makes no checkable claim) and
  ``grounding_claims`` (sentence, supported, support, missing, reason): the grounding
  verifier (``service/grounding.py``) over the contexts as numbered sources ``[1]``,
  ``[2]``, ...; milliseconds per row, no judge model;
- ``faithfulness`` (0..1, or null when the response makes no checkable claim) and
  ``claims`` (statement, supported, reason): Ragas faithfulness with the judge model;

and ``error`` (null, or why the judge failed on that row). Rows already in the output
file are skipped, so an interrupted scoring run resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

if TYPE_CHECKING:
    from eval.judge import Judge
    from service.grounding import Embed, Thresholds

log = logging.getLogger(__name__)

METRICS = ("grounding", "faithfulness")
"""What ``docent eval score`` can compute per row; ``faithfulness`` needs the judge model."""


def parse_metrics(value: str | None) -> list[str]:
    """``"grounding,faithfulness"`` -> the metrics in ``METRICS`` order; ValueError on unknown names."""
    chosen = [m.strip() for m in (value or ",".join(METRICS)).split(",") if m.strip()]
    unknown = sorted(set(chosen) - set(METRICS))
    if unknown or not chosen:
        raise ValueError(f"unknown metrics {unknown or chosen}; choose from {', '.join(METRICS)}")
    return [m for m in METRICS if m in chosen]


def grounding_of(contexts: Sequence[str], response: str, *, thresholds: Thresholds | None = None,
                 embed: Embed | None = None) -> dict[str, Any]:
    """``grounding`` and ``grounding_claims`` of one response against its numbered contexts."""
    from service.grounding import Verifier

    verdict = Verifier(list(contexts), thresholds=thresholds, embed=embed).verify(response)
    claims = [
        {
            "sentence": c.bare,
            "supported": c.supported,
            "support": round(c.support, 3),
            "missing": list(c.missing),
            "reason": c.reason,
        }
        for c in verdict.claims
        if c.checked
    ]
    score = verdict.score
    return {"grounding": None if score is None else round(score, 4), "grounding_claims": claims}


class BadRowError(ValueError):
    """An input line is not a valid row; the message names the line."""


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise BadRowError(f"{path}:{n}: not JSON ({exc})") from None
        missing = [k for k in ("id", "question", "contexts", "response") if k not in row]
        if missing or not isinstance(row.get("contexts"), list):
            raise BadRowError(
                f"{path}:{n}: needs id, question, contexts (a list of strings) and response; "
                f"missing or wrong: {missing or ['contexts']}"
            )
        yield row


def _done_ids(path: Path) -> set[str]:
    if not path.exists():
        return set()
    done = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            done.add(str(json.loads(line)["id"]))
        except (ValueError, KeyError, TypeError):
            continue
    return done


async def score_rows(
    rows: list[dict[str, Any]],
    judge: Judge | None,
    output: Path,
    *,
    progress: bool = True,
    metrics: Sequence[str] = METRICS,
    thresholds: Thresholds | None = None,
    embed: Embed | None = None,
) -> int:
    """Score ``rows`` one by one, appending each result to ``output``; returns how many were scored.

    ``judge`` may be None when ``metrics`` leaves out faithfulness.
    """
    if "faithfulness" in metrics and judge is None:
        raise ValueError("faithfulness needs a judge model")
    done = _done_ids(output)
    todo = [r for r in rows if str(r["id"]) not in done]
    with (
        open(output, "a", encoding="utf-8") as out,
        tqdm(total=len(todo), unit="row", disable=not progress) as bar,
    ):
        for row in todo:
            result: dict[str, Any] = dict(row)
            contexts = [str(c) for c in row["contexts"]]
            if "grounding" in metrics:
                result.update(grounding_of(contexts, str(row["response"]), thresholds=thresholds, embed=embed))
            error = None
            if "faithfulness" in metrics:
                assert judge is not None  # checked above
                from eval.faithfulness import score_faithfulness

                try:
                    scored = await score_faithfulness(judge.llm, str(row["question"]), str(row["response"]), contexts)
                    result.update(scored.to_json())
                    result["faithfulness"] = result.pop("score")
                except Exception as exc:  # one bad row must not stop the file
                    log.warning("row %s: %s: %s", row["id"], type(exc).__name__, exc)
                    error = f"{type(exc).__name__}: {exc}"[:400]
                    result.update({"faithfulness": None, "claims": []})
            result["error"] = error
            out.write(json.dumps(result) + "\n")
            out.flush()
            bar.update(1)
    return len(todo)


def run(
    input_path: Path,
    output: Path,
    judge: Judge | None,
    *,
    progress: bool = True,
    metrics: Sequence[str] = METRICS,
    thresholds: Thresholds | None = None,
    embed: Embed | None = None,
) -> int:
    """Read, score and write; the CLI calls this."""
    rows = list(read_rows(input_path))
    return asyncio.run(
        score_rows(rows, judge, output, progress=progress, metrics=metrics, thresholds=thresholds, embed=embed)
    )
