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
   `changed` subset, answers and scores with unchanged inputs reused);
4. with --fast N, the doc writer's loop `docent eval --subset smoke --fast` (no judge) run
   N times COLD, each as a new `docent` process on a fresh data dir (process start, ingest
   of docs-corpus, model load, answers); prints each run's phases and the medians. The
   models folder is linked, and the embedder's one-time ONNX export done before timing.

    .venv/bin/python bench/eval.py [--sample 6] [--smoke] [--skip-sample] [--judge M] [--model M]
    .venv/bin/python bench/eval.py --skip-sample --fast 3
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


def link_models(data: Path) -> None:
    """``data/models`` with the repo's model files linked (directories copied: exports write there)."""
    models = ROOT / "data" / "models"
    if models.exists():
        (data / "models").mkdir(parents=True)
        for item in models.iterdir():
            target = data / "models" / item.name
            if item.is_dir():
                shutil.copytree(item, target, symlinks=True)
            else:
                target.symlink_to(item)


def prepare(data: Path, docs: Path) -> Settings:
    """Copy docs-corpus to ``docs`` and ingest it into ``data`` (models linked from the repo)."""
    from ingest import worker

    shutil.copytree(ROOT / "docs-corpus", docs)
    link_models(data)
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


def fast_cold_run(main: Path, n: int, model: str) -> dict[str, float]:
    """One cold `docent eval run --docs docs-corpus --subset smoke --fast` in a new process and data dir."""
    import subprocess

    corpus_dir = main / f"cold-{n}"
    env = {**os.environ, "DOCENT_DATA_DIR": str(main), "DOCENT_MODEL": model, "DOCENT_WATCH": "false"}
    for key in ("DOCENT_EVAL_RUNS_DIR", "DOCENT_EVAL_METRICS", "DOCENT_EVAL_SMOKE_METRICS"):
        env.pop(key, None)
    cmd = [str(Path(sys.executable).parent / "docent"), "eval", "run", "--docs", str(ROOT / "docs-corpus"),
           "--questions", str(ROOT / "eval" / "golden.jsonl"), "--corpus-data-dir", str(corpus_dir),
           "--subset", "smoke", "--fast", "--json", "-q"]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None and proc.stdout is not None
    ingested = None
    for line in proc.stderr:  # the CLI reports the ingest on stderr as soon as it is done
        if ingested is None and line.startswith("corpus "):
            ingested = time.perf_counter() - t0
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise SystemExit(f"docent eval failed ({proc.returncode}):\n{out}")
    wall = time.perf_counter() - t0
    record = RunRecord.from_json(json.loads((corpus_dir / "evals" / f"{json.loads(out)['id']}.json").read_text()))
    answers = [q.seconds.get("answer", 0.0) for q in record.questions]
    return {
        "wall_s": wall,
        "ingest_s": ingested or 0.0,
        "answers_s": sum(answers),
        "first_answer_s": answers[0] if answers else 0.0,  # includes loading the model
        "model_calls": float(sum(1 for q in record.questions if q.sample.key)),
        "questions": float(len(record.questions)),
        "load_avg_start": load,
        "load_avg_end": os.getloadavg()[0],
    }


def timed_fast(repeats: int, model: str, report: dict[str, object]) -> None:
    """The doc writer's loop, cold, ``repeats`` times: each phase per run, then the medians."""
    from docent.embedder import build_embedder

    main = Path(tempfile.mkdtemp(prefix="docent-bench-fast-"))
    try:
        link_models(main)
        build_embedder(Settings(_env_file=None, data_dir=main))  # the one-time ONNX export, untimed
        runs = []
        for n in range(repeats):
            one = fast_cold_run(main, n, model)
            runs.append(one)
            print("fast cold run {}: {}".format(n + 1, ", ".join(f"{k} {v:.1f}" for k, v in one.items())), flush=True)
        medians = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
        print(f"`docent eval --subset smoke --fast`, cold, median of {repeats}: {medians['wall_s']:.0f}s wall "
              f"(ingest {medians['ingest_s']:.0f}s, answers {medians['answers_s']:.0f}s for "
              f"{medians['model_calls']:.0f} model calls; load average {medians['load_avg_start']:.1f})")
        report.update(fast_cold=medians, fast_cold_runs=runs)
    finally:
        shutil.rmtree(main, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=6, help="questions in the timed sample")
    parser.add_argument("--judge", default="docent-local/qwen2.5-coder-1.5b")
    parser.add_argument("--model", default="docent-local/qwen2.5-coder-1.5b", help="answering model")
    parser.add_argument("--smoke", action="store_true", help="also time the smoke subset, cold and warm")
    parser.add_argument("--skip-sample", action="store_true", help="only the smoke timings")
    parser.add_argument("--fast", type=int, default=0, metavar="N",
                        help="time `docent eval --subset smoke --fast` N times cold (fresh data dir each)")
    args = parser.parse_args()
    if args.fast and args.skip_sample and not args.smoke:  # nothing else to do: no shared ingest needed
        fast_report: dict[str, object] = {"answer_model": args.model}
        timed_fast(args.fast, args.model, fast_report)
        print(json.dumps(fast_report))
        return
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
        if args.fast:
            timed_fast(args.fast, args.model, report)
        report["load_average_end"] = round(os.getloadavg()[0], 2)
        print(json.dumps(report))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
