"""Executing one evaluation: answer every selected question, then score metric by metric.

Phases rather than question-by-question: first all answers, then each metric over all
answers. Consecutive calls of one metric share its long prompt prefix (instructions and
examples), which llama.cpp keeps in its KV cache, so a local judge prefills only what
differs. Every finished step is journaled (``RunStore.append``) before the next starts,
so an interrupted run resumes at the step it stopped at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm import tqdm

from eval.answerers import Answerer
from eval.docent_metrics import deterministic_scores
from eval.golden import GoldenItem
from eval.records import QuestionResult, RunRecord, Sample, aggregate
from eval.references import ReferenceTexts
from eval.reuse import ReuseCache, score_key
from eval.run_store import RunStore
from eval.scorers import Outcome, ScoreInput, Scorers
from eval.subsets import Selection

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunPlan:
    """What to run and the facts about the corpus and models to record with it."""

    selection: Selection
    metrics: list[str]
    models: dict[str, str]
    corpus_fingerprint: str
    docs_changed: dict[str, list[str]] = field(default_factory=dict)
    previous_run: str | None = None
    source: str = "in-process"

    def header(self) -> dict[str, Any]:
        """What must match for a journal to be resumed."""
        return {
            "ids": [i.id for i in self.selection.items],
            "metrics": self.metrics,
            "models": self.models,
            "corpus_fingerprint": self.corpus_fingerprint,
            "source": self.source,
        }


def new_run_id(now: float | None = None) -> str:
    """Sortable by start time: ``20250101T120000Z-123``."""
    now = time.time() if now is None else now
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + f"-{int((now % 1) * 1000):03d}"


@dataclass
class _State:
    run_id: str
    started_at: float
    samples: dict[str, Sample] = field(default_factory=dict)
    answer_seconds: dict[str, float] = field(default_factory=dict)
    outcomes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    resumed: bool = False


def _restore(store: RunStore, plan: RunPlan, resume: bool) -> _State:
    header, events = store.read_partial()
    if resume and header is not None and all(header.get(k) == v for k, v in plan.header().items()):
        state = _State(header["run_id"], header["started_at"], resumed=True)
        for event in events:
            if event.get("type") == "answer":
                state.samples[event["id"]] = Sample.from_json(event["sample"])
                state.answer_seconds[event["id"]] = float(event.get("seconds", 0.0))
            elif event.get("type") == "metric" and not event.get("error"):
                state.outcomes[(event["id"], event["metric"])] = event
        log.info(
            "resuming run %s: %d answers and %d scores already done",
            state.run_id,
            len(state.samples),
            len(state.outcomes),
        )
        return state
    if header is not None:
        log.info(
            "discarding interrupted run %s (different questions, models or corpus)", header.get("run_id")
        )
    started = time.time()
    state = _State(new_run_id(started), started)
    store.start_partial({"run_id": state.run_id, "started_at": started, **plan.header()})
    return state


async def _bounded(limit: int, jobs: list[Callable[[], Awaitable[None]]]) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def execute(
    plan: RunPlan,
    *,
    answerer: Answerer,
    scorers: Scorers,
    references: ReferenceTexts | None,
    store: RunStore,
    concurrency: int = 1,
    progress: bool = True,
    resume: bool = True,
    judge_usage: Callable[[], dict[str, int]] | None = None,
    reuse: ReuseCache | None = None,
    judge_identity: str = "",
) -> RunRecord:
    """Run (or resume) ``plan`` and return the finished record (not yet saved).

    With ``reuse``, a metric whose inputs equal an earlier run's (same score key) takes
    that run's result instead of asking the judge again.
    """
    state = _restore(store, plan, resume)
    items = plan.selection.items
    refs = {i.id: references.for_item(i) if references else [] for i in items}
    bar = tqdm(
        total=len(items) * (1 + len(plan.metrics)),
        unit="step",
        desc="answering",
        disable=not progress,
        dynamic_ncols=True,
    )
    bar.update(len(state.samples) + len(state.outcomes))

    def answer_job(item: GoldenItem) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            t0 = time.perf_counter()
            sample = await answerer(item)
            seconds = time.perf_counter() - t0
            store.append({"type": "answer", "id": item.id, "sample": asdict(sample), "seconds": seconds})
            state.samples[item.id], state.answer_seconds[item.id] = sample, seconds
            bar.update(1)

        return job

    try:
        await _bounded(concurrency, [answer_job(i) for i in items if i.id not in state.samples])
        inputs = {i.id: ScoreInput(i, state.samples[i.id], refs[i.id]) for i in items}
        applicable = {m: [i for i in items if scorers.applies(m, inputs[i.id])] for m in plan.metrics}
        bar.total = len(items) + sum(len(v) for v in applicable.values())
        bar.refresh()
        for metric in plan.metrics:
            bar.set_description(metric)

            def metric_job(item: GoldenItem, metric: str = metric) -> Callable[[], Awaitable[None]]:
                async def job() -> None:
                    key = score_key(metric, judge_identity, inputs[item.id])
                    earlier = reuse.scores.get(key) if reuse else None
                    t0 = time.perf_counter()
                    if earlier is not None:
                        outcome, error = Outcome(earlier["value"], earlier["detail"]), None
                    else:
                        try:
                            outcome = await scorers.score(metric, inputs[item.id])
                            error = None
                        except Exception as exc:  # a judge failure scores None; the run goes on
                            log.warning(
                                "%s on %s failed: %s: %s", metric, item.id, type(exc).__name__, str(exc)[:300]
                            )
                            outcome, error = Outcome(None), f"{type(exc).__name__}: {str(exc)[:300]}"
                    event = {
                        "type": "metric",
                        "id": item.id,
                        "metric": metric,
                        "value": outcome.value,
                        "detail": outcome.detail,
                        "seconds": earlier["seconds"] if earlier else time.perf_counter() - t0,
                        "error": error,
                        "key": key,
                        "reused": earlier is not None,
                    }
                    store.append(event)
                    state.outcomes[(item.id, metric)] = event
                    bar.update(1)

                return job

            await _bounded(
                concurrency,
                [metric_job(i) for i in applicable[metric] if (i.id, metric) not in state.outcomes],
            )
    finally:
        bar.close()
    return _record(plan, state, judge_usage() if judge_usage else {})


def _record(plan: RunPlan, state: _State, usage: dict[str, int]) -> RunRecord:
    results = []
    for item in plan.selection.items:
        sample = state.samples[item.id]
        result = QuestionResult(
            sample,
            item.kind,
            item.visibility,
            item.reference,
            item.answerable_publicly,
            sorted(item.docs),
            plan.selection.reasons.get(item.id, ""),
        )
        result.scores.update(deterministic_scores(item, sample))
        result.seconds["answer"] = round(state.answer_seconds.get(item.id, 0.0), 3)
        if sample.reused:
            result.reused.append("answer")
        for metric in plan.metrics:
            event = state.outcomes.get((item.id, metric))
            if event is None:
                continue
            result.scores[metric] = event["value"]
            result.seconds[metric] = round(float(event["seconds"]), 3)
            if event.get("detail") is not None:
                result.details[metric] = event["detail"]
            if event.get("error"):
                result.errors[metric] = event["error"]
            if event.get("key"):
                result.keys[metric] = event["key"]
            if event.get("reused"):
                result.reused.append(metric)
        results.append(result)
    notes = list(plan.selection.notes) + (["resumed after an interruption"] if state.resumed else [])
    return RunRecord(
        state.run_id,
        state.started_at,
        time.time(),
        plan.selection.subset,
        plan.corpus_fingerprint,
        plan.models,
        plan.metrics,
        results,
        plan.docs_changed,
        plan.previous_run,
        plan.source,
        usage,
        aggregate(results),
        notes,
    )
