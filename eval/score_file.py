"""``docent eval score``: faithfulness of arbitrary rows, outside Docent's own answers.

Input rows are JSON objects with ``id``, ``question``, ``contexts`` (list of strings)
and ``response``. Each output row is the input row plus ``faithfulness`` (0..1, or
null when the response makes no checkable claim), ``claims`` (statement, supported,
reason) and ``error`` when the judge failed on that row. Rows already in the output
file are skipped, so an interrupted scoring run resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.faithfulness import score_faithfulness
from eval.judge import Judge

log = logging.getLogger(__name__)


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


async def score_rows(rows: list[dict[str, Any]], judge: Judge, output: Path, *, progress: bool = True) -> int:
    """Score ``rows`` one by one, appending each result to ``output``; returns how many were scored."""
    done = _done_ids(output)
    todo = [r for r in rows if str(r["id"]) not in done]
    with (
        open(output, "a", encoding="utf-8") as out,
        tqdm(total=len(todo), unit="row", disable=not progress) as bar,
    ):
        for row in todo:
            result: dict[str, Any] = dict(row)
            try:
                scored = await score_faithfulness(
                    judge.llm, str(row["question"]), str(row["response"]), [str(c) for c in row["contexts"]]
                )
                result.update(scored.to_json())
                result["faithfulness"] = result.pop("score")
                result["error"] = None
            except Exception as exc:  # one bad row must not stop the file
                log.warning("row %s: %s: %s", row["id"], type(exc).__name__, exc)
                result.update(
                    {"faithfulness": None, "claims": [], "error": f"{type(exc).__name__}: {exc}"[:400]}
                )
            out.write(json.dumps(result) + "\n")
            out.flush()
            bar.update(1)
    return len(todo)


def run(input_path: Path, output: Path, judge: Judge, *, progress: bool = True) -> int:
    """Read, score and write; the CLI calls this."""
    rows = list(read_rows(input_path))
    return asyncio.run(score_rows(rows, judge, output, progress=progress))
