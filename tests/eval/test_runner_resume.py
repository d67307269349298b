"""An interrupted run continues where it stopped: finished answers and scores are not redone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from eval import golden
from eval.answerers import InProcessAnswerer
from eval.records import Sample
from eval.run_store import RunStore
from eval.runner import RunPlan, execute
from eval.scorers import Outcome, ScoreInput, Scorers
from eval.settings import EvalSettings
from eval.subsets import select
from service.runtime import Runtime


class Interrupted(BaseException):
    """Stands in for Ctrl-C or a killed process: nothing in the runner catches it."""


class CountingAnswerer:
    """The real in-process pipeline, counting calls and dying after ``die_after`` answers."""

    def __init__(self, inner: InProcessAnswerer, die_after: int | None = None) -> None:
        self.inner, self.die_after, self.asked = inner, die_after, []
        self.description = inner.description

    async def __call__(self, item: golden.GoldenItem) -> Sample:
        if self.die_after is not None and len(self.asked) == self.die_after:
            raise Interrupted
        self.asked.append(item.id)
        return await self.inner(item)


class CountingScorers(Scorers):
    """Non-LLM scorers (no judge) that count calls and can die after ``die_after`` of them."""

    def __init__(self, die_after: int | None = None) -> None:
        super().__init__(None)
        self.die_after, self.scored = die_after, []

    async def score(self, metric: str, inp: ScoreInput) -> Outcome:
        if self.die_after is not None and len(self.scored) == self.die_after:
            raise Interrupted
        self.scored.append((inp.item.id, metric))
        return await super().score(metric, inp)


def _plan(eval_settings: EvalSettings) -> RunPlan:
    items = golden.load(eval_settings.golden_path)
    return RunPlan(
        select(items, "full"),
        ["nonllm_context_precision", "nonllm_context_recall"],
        {"answer": "docent-fake/echo-cite", "judge": ""},
        "fp-1",
    )


def test_runner_resume_skips_finished_answers(
    make_runtime: Callable[..., Runtime], make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """Killed after one answer, the next run answers only the other two and keeps the run id."""
    runtime = make_runtime()
    eval_settings = make_eval_settings()
    store = RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir))
    inner = InProcessAnswerer(runtime.answerer)

    first = CountingAnswerer(inner, die_after=1)
    with pytest.raises(Interrupted):
        asyncio.run(
            execute(
                _plan(eval_settings),
                answerer=first,
                scorers=Scorers(None),
                references=None,
                store=store,
                progress=False,
            )
        )
    header, events = store.read_partial()
    assert header is not None and [e["id"] for e in events] == ["q001"]

    second = CountingAnswerer(inner)
    record = asyncio.run(
        execute(
            _plan(eval_settings),
            answerer=second,
            scorers=Scorers(None),
            references=None,
            store=store,
            progress=False,
        )
    )
    assert second.asked == ["q004", "q068"]
    assert record.id == header["run_id"]
    assert [q.id for q in record.questions] == ["q001", "q004", "q068"]
    assert "resumed after an interruption" in record.notes


def test_runner_resume_skips_finished_scores(
    make_runtime: Callable[..., Runtime], make_eval_settings: Callable[..., EvalSettings]
) -> None:
    """Killed mid-scoring, the next run scores only what was missing; a changed corpus starts afresh."""
    from eval.references import ReferenceTexts

    runtime = make_runtime()
    eval_settings = make_eval_settings()
    store = RunStore(eval_settings.resolved_runs_dir(runtime.settings.data_dir))
    refs = ReferenceTexts(runtime.settings.docs_dir)
    answerer = CountingAnswerer(InProcessAnswerer(runtime.answerer))

    dying = CountingScorers(die_after=1)
    with pytest.raises(Interrupted):
        asyncio.run(
            execute(
                _plan(eval_settings),
                answerer=answerer,
                scorers=dying,
                references=refs,
                store=store,
                progress=False,
            )
        )
    assert len(dying.scored) == 1

    again = CountingScorers()
    record = asyncio.run(
        execute(
            _plan(eval_settings),
            answerer=answerer,
            scorers=again,
            references=refs,
            store=store,
            progress=False,
        )
    )
    assert dying.scored[0] not in again.scored and len(again.scored) >= 1
    assert len(answerer.asked) == 3  # nothing answered twice
    assert record.by_id()["q001"].scores["nonllm_context_recall"] is not None

    changed = _plan(eval_settings)
    changed.corpus_fingerprint = "fp-2"
    store.start_partial({"run_id": "old", "started_at": 0.0, **_plan(eval_settings).header()})
    fresh = asyncio.run(
        execute(
            changed,
            answerer=answerer,
            scorers=CountingScorers(),
            references=refs,
            store=store,
            progress=False,
        )
    )
    assert fresh.id != "old" and len(answerer.asked) == 6
