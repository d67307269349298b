"""What an evaluation costs: seconds per question for each metric, the smoke run, a full run.

Copies docs-corpus into a temporary folder, ingests it into a temporary data dir, and runs
the real ``eval.suite.run`` in-process with the default local judge
(docent-local/qwen2.5-coder-1.5b) answering and judging:

1. a sample of golden questions (--sample, default 4 answerable + 2 that should abstain)
   with every metric and nothing reused, printing the mean seconds per question for
   answering and for each metric, and the judge's calls and tokens;
2. the full golden set's time, EXTRAPOLATED from those per-question costs and the set's
   mix of questions (a full run with a 1.5B judge on 2 cores takes hours);
3. with --smoke, the smoke subset measured twice: cold (nothing to reuse, a first run)
   and warm (after editing one page and re-ingesting, as the ingest trigger runs it:
   `changed` subset, answers and scores with unchanged inputs reused).

    .venv/bin/python bench/eval.py [--sample 6] [--smoke] [--skip-sample] [--judge M] [--model M]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docent.offline import ensure_offline  # noqa: E402

ensure_offline()

from docent.settings import Settings  # noqa: E402
from eval import golden  # noqa: E402
from eval.records import RunRecord  # noqa: E402
from eval.settings import ALL_METRICS, EvalSettings  # noqa: E402
from eval.suite import RunRequest, run  # noqa: E402

ANSWER_METRICS = ("faithfulness", "answer_relevancy", "citation_support")  # need an answer
REFERENCE_METRICS = (
    "context_precision",
    "context_recall",
    "nonllm_context_precision",
    "nonllm_context_recall",
)


EDITED_DOC = "configuration/tls.md"  # q004's golden source (q004 is in the smoke set)


def prepare(data: Path, docs: Path) -> Settings:
    """Copy docs-corpus to ``docs`` and ingest it into ``data`` (models linked from the repo)."""
    from ingest import worker

    shutil.copytree(ROOT / "docs-corpus", docs)
    models = ROOT / "data" / "models"
    if models.exists():
        (data / "models").mkdir(parents=True)
        for item in models.iterdir():
            target = data / "models" / item.name
            if item.is_dir():
                shutil.copytree(item, target, symlinks=True)
            else:
                target.symlink_to(item)
    os.environ.pop("DOCENT_MODEL", None)
    settings = Settings(_env_file=None, data_dir=data, docs_dir=docs, watch=False)
    t0 = time.perf_counter()
    worker.run(settings, progress=False)
    print(f"ingested docs-corpus in {time.perf_counter() - t0:.0f}s", flush=True)
    return settings


def edit_and_ingest(settings: Settings) -> None:
    """A doc writer's small edit: one sentence appended to one page, then the incremental ingest."""
    from ingest import worker

    page = settings.docs_dir / EDITED_DOC
    page.write_text(page.read_text() + "\nCertificates are reloaded when the agent restarts.\n")
    worker.run(settings, progress=False)


def sample_ids(items: list[golden.GoldenItem], n: int) -> list[str]:
    answerable = [i.id for i in items if i.answerable_publicly and not i.history]
    abstain = [i.id for i in items if not i.answerable_publicly]
    k = max(1, n * 2 // 3)
    step = max(1, len(answerable) // k)
    return answerable[::step][:k] + abstain[:: max(1, len(abstain) // max(1, n - k))][: n - k]


def per_metric(record: RunRecord) -> dict[str, tuple[float, int]]:
    """Mean seconds per question where the step ran, and on how many questions it ran."""
    out = {}
    for step in ("answer", *ALL_METRICS):
        secs = [q.seconds[step] for q in record.questions if step in q.seconds]
        if secs:
            out[step] = (statistics.mean(secs), len(secs))
    return out


def extrapolate(record: RunRecord, items: list[golden.GoldenItem]) -> float:
    """Seconds for the whole golden set, from the sample's per-question costs and the set's mix."""
    costs = per_metric(record)
    qs = record.questions
    expected = [q for q in qs if q.expected_answer]
    answered_rate = sum(q.sample.answered for q in expected) / max(1, len(expected))
    n_answerable = sum(i.answerable_publicly for i in items)
    n_abstain = len(items) - n_answerable
    ans_secs = [q.seconds.get("answer", 0) for q in expected]
    abs_secs = [q.seconds.get("answer", 0) for q in qs if not q.expected_answer]
    total = n_answerable * (statistics.mean(ans_secs) if ans_secs else 0)
    total += n_abstain * (statistics.mean(abs_secs) if abs_secs else 0)
    for metric, (secs, _) in costs.items():
        if metric in ANSWER_METRICS:
            total += secs * n_answerable * answered_rate
        elif metric in REFERENCE_METRICS:
            total += secs * n_answerable
    return total


def timed_sample(settings: Settings, base: EvalSettings, n: int, report: dict[str, object]) -> None:
    items = golden.load(base.golden_path)
    ids = sample_ids(items, n)
    print(f"sample: {', '.join(ids)}", flush=True)
    t0 = time.perf_counter()
    record = run(settings, base, RunRequest(ids=ids, resume=False, reuse=False))
    wall = time.perf_counter() - t0
    costs = per_metric(record)
    print(f"\n{'step':28}{'s/question':>12}{'questions':>11}")
    for step, (secs, count) in costs.items():
        print(f"{step:28}{secs:12.1f}{count:11d}")
    full = extrapolate(record, items)
    print(f"\nsample run: {wall:.0f}s wall for {len(ids)} questions; judge {record.judge_usage}")
    print(
        f"full golden set ({len(items)} questions, all metrics): ~{full / 60:.0f} min "
        "(EXTRAPOLATED from the sample's per-question costs, not measured)"
    )
    report.update(
        sample_ids=ids,
        sample_wall_s=round(wall, 1),
        judge_usage=record.judge_usage,
        seconds_per_question={k: round(v[0], 2) for k, v in costs.items()},
        answered=[q.id for q in record.questions if q.sample.answered],
        full_run_estimate_s=round(full),
    )


def timed_smoke(settings: Settings, base: EvalSettings, report: dict[str, object]) -> None:
    smoke_settings = base.model_copy(
        update={"runs_dir": Path(tempfile.mkdtemp(prefix="docent-bench-smoke-"))}
    )
    t0 = time.perf_counter()
    cold = run(settings, smoke_settings, RunRequest(subset="smoke", resume=False))
    cold_s = time.perf_counter() - t0
    print(
        f"smoke, cold ({len(cold.questions)} questions; {', '.join(cold.metrics)}): {cold_s:.0f}s (measured)",
        flush=True,
    )
    edit_and_ingest(settings)
    t0 = time.perf_counter()
    warm = run(settings, smoke_settings, RunRequest(subset="changed", resume=False))
    warm_s = time.perf_counter() - t0
    # A sample with a key went to the model (an abstention before the model has none).
    regenerated = [q.id for q in warm.questions if q.sample.key and "answer" not in q.reused]
    print(
        f"smoke after editing {EDITED_DOC} (`changed`: {len(warm.questions)} questions, "
        f"{len(regenerated)} sent to the model again: {', '.join(regenerated) or 'none'}): {warm_s:.0f}s (measured)"
    )
    report.update(
        smoke_cold_s=round(cold_s, 1),
        smoke_warm_s=round(warm_s, 1),
        smoke_metrics=cold.metrics,
        smoke_warm_regenerated=regenerated,
        smoke_answered=[q.id for q in cold.questions if q.sample.answered],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=6, help="questions in the timed sample")
    parser.add_argument("--judge", default="docent-local/qwen2.5-coder-1.5b")
    parser.add_argument("--model", default="docent-local/qwen2.5-coder-1.5b", help="answering model")
    parser.add_argument("--smoke", action="store_true", help="also time the smoke subset, cold and warm")
    parser.add_argument("--skip-sample", action="store_true", help="only the smoke timings")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="docent-bench-eval-"))
    try:
        settings = prepare(tmp / "data", tmp / "docs")
        # A busy 2-core machine can exceed the production 60 s answer deadline; measure, don't degrade.
        settings.llm = settings.llm.model_copy(update={"model": args.model, "timeout_s": 900.0})
        base = EvalSettings(_env_file=None, judge_model=args.judge, runs_dir=tmp / "runs")
        print(f"answer: {args.model}, judge: {args.judge}, load average {os.getloadavg()[0]:.1f}", flush=True)
        report: dict[str, object] = {"answer_model": args.model, "judge": args.judge}
        if not args.skip_sample:
            timed_sample(settings, base, args.sample, report)
        if args.smoke:
            timed_smoke(settings, base, report)
        report["load_average_end"] = round(os.getloadavg()[0], 2)
        print(json.dumps(report))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
