"""``docent eval``: a typer sub-app mounted by ``entrypoints/cli.py`` (``app.add_typer(eval_app, name="eval")``).

Like the rest of the CLI it only parses arguments, builds settings and calls a
``run(...)``; importing this module stays cheap (typer only), so ``docent --help``
does not load LiteLLM or Ragas.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from docent.errors import DocentError
from docent.offline import ensure_offline

eval_app = typer.Typer(
    help="Evaluate answers on the golden set (Ragas + Docent metrics), gate, and score files.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> tuple[Any, Any]:
    """(Settings, EvalSettings), with an actionable message on invalid values."""
    from pydantic import ValidationError

    from docent.settings import Settings
    from eval.settings import EvalSettings

    try:
        settings, eval_settings = Settings(), EvalSettings()
    except ValidationError as exc:
        typer.echo(f"error: invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("LiteLLM", "LiteLLM Router", "httpx", "sentence_transformers", "ragas", "instructor"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings, eval_settings


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _summary(record: Any, path: Path) -> None:
    agg = record.aggregates
    keys = (
        "faithfulness",
        "answer_relevancy",
        "context_precision",
        "context_recall",
        "nonllm_context_precision",
        "nonllm_context_recall",
        "citation_validity",
        "citation_support",
        "grounding",
        "gold_cited",
        "reference_recall",
        "hit@5",
        "mrr",
        "abstention_accuracy",
    )
    typer.echo(
        f"run {record.id}: {len(record.questions)} questions ({record.subset}), "
        f"corpus {record.corpus_fingerprint}"
    )
    for key in keys:
        if agg.get(key) is not None:
            typer.echo(f"  {key:26} {agg[key]:.3f}")
    typer.echo(
        f"  {'latency p50 / p95 ms':26} {agg.get('latency_p50_ms') or 0:.0f} / {agg.get('latency_p95_ms') or 0:.0f}"
    )
    for note in record.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"report: {path.with_suffix('.html')}  (also .json, .csv)")


@eval_app.callback(invoke_without_command=True)
def run_eval(
    ctx: typer.Context,
    subset: Annotated[
        str,
        typer.Option(
            help="smoke | changed (affected by docs changed since the last run, plus smoke) | full."
        ),
    ] = "full",
    limit: Annotated[int | None, typer.Option(help="At most this many questions.")] = None,
    ids: Annotated[
        str | None, typer.Option(help="Comma-separated question ids (overrides --subset).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Evaluate a running server's API instead of in-process.")
    ] = None,
    api_key: Annotated[str | None, typer.Option(envvar="DOCENT_API_KEY", help="Key for --url.")] = None,
    judge: Annotated[
        str | None, typer.Option(help="Judge model (LiteLLM string); default DOCENT_EVAL_JUDGE_MODEL.")
    ] = None,
    metrics: Annotated[
        str | None, typer.Option(help="Comma-separated metrics to run (default: all).")
    ] = None,
    gate: Annotated[
        bool,
        typer.Option(
            "--gate",
            help="After the run, exit 1 if a gated metric regressed: question by question, beyond "
            "the measured noise, or explained by changed docs.",
        ),
    ] = False,
    fast: Annotated[
        bool,
        typer.Option(
            "--fast",
            help="No LLM judge: only the judge-free metrics (grounding, gold cited, reference recall, "
            "retrieval, abstention); answers as production gives them.",
        ),
    ] = False,
    baseline: Annotated[
        Path | None, typer.Option(help="Gate against this run JSON instead of the previous run.")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run with the same questions.")] = True,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Generate and judge everything again (no reuse of identical steps).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run's aggregates as JSON.")] = False,
    docs: Annotated[
        Path | None,
        typer.Option(
            help="Evaluate on this docs folder instead of the product's index: it is ingested "
            "(incrementally) into its own data dir, <data dir>/eval-corpora/<folder slug>, and the "
            "runs are stored there. Needs --questions."
        ),
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option(
            "--questions",
            "--golden",
            help="Question set (JSONL in the golden format, see eval/dev/README.md) instead of "
            "eval/golden.jsonl; source docs are paths relative to the docs folder.",
        ),
    ] = None,
    corpus: Annotated[
        str | None,
        typer.Option(
            help="A named corpus from eval/dev/corpora.json (e.g. zulip-help, fastapi-docs): its docs "
            "folder and question set (--questions overrides the latter)."
        ),
    ] = None,
    corpus_data_dir: Annotated[
        Path | None,
        typer.Option(help="Data dir for the --docs/--corpus index and runs (default: <data dir>/eval-corpora/<slug>)."),
    ] = None,
) -> None:
    """Run the golden set (or --questions against --docs) through the real pipeline and score every answer."""
    if ctx.invoked_subcommand is not None:
        return
    ensure_offline()
    settings, eval_settings = _settings()
    from eval import corpora
    from eval.suite import RunRequest, run

    update: dict[str, Any] = {}
    try:
        target = corpora.resolve(docs, questions, corpus)
        if target is not None and target.docs is not None and url:
            raise corpora.CorpusError(
                "--docs and --corpus evaluate in-process; a server at --url answers from its own index"
            )
        if corpus_data_dir is not None and (target is None or target.docs is None):
            raise corpora.CorpusError("--corpus-data-dir goes with --docs or --corpus")
    except corpora.CorpusError as exc:
        _fail(exc)
        return
    if target is not None:
        update["golden_path"] = target.questions
        if target.docs is not None:
            settings = corpora.corpus_settings(settings, target, corpus_data_dir)
            update["runs_dir"] = settings.data_dir / "evals"
            try:
                summary = corpora.ingest(settings, progress=not quiet and not as_json)
            except (DocentError, OSError) as exc:
                _fail(exc)
                return
            typer.echo(
                f"corpus {target.docs} -> {settings.data_dir}: {summary.docs_added} added, "
                f"{summary.docs_updated} updated, {summary.docs_deleted} deleted, "
                f"{summary.docs_unchanged} unchanged",
                err=True,
            )
    if judge:
        update["judge_model"] = judge
    if metrics and fast:
        _fail(ValueError("--fast runs no judged metrics; drop --metrics or --fast"))
        return
    if metrics:
        chosen = [m.strip() for m in metrics.split(",") if m.strip()]
        update.update(metrics=chosen, smoke_metrics=chosen)
    if fast:  # the judge is never built; the judge-free metrics are computed for every run
        update.update(metrics=[], smoke_metrics=[])
    if baseline is not None:  # the verdict stored with the run is against the same reference
        update["baseline"] = baseline
    try:
        eval_settings = type(eval_settings).model_validate({**eval_settings.model_dump(), **update})
        request = RunRequest(
            subset=subset,
            limit=limit,
            ids=ids.split(",") if ids else None,
            url=url,
            api_key=api_key,
            resume=resume,
            reuse=False if fresh else None,
            progress=not quiet and not as_json,
        )
        record = run(settings, eval_settings, request)
    except (DocentError, ValueError, OSError) as exc:
        _fail(exc)
        return
    runs_dir = eval_settings.resolved_runs_dir(settings.data_dir)
    if as_json:
        typer.echo(json.dumps({"id": record.id, "aggregates": record.aggregates, "gate": record.gate}))
    else:
        _summary(record, runs_dir / f"{record.id}.json")
    if gate:
        raise typer.Exit(_gate(settings, eval_settings, record.id, baseline, echo=not as_json))


# `docent eval run [OPTIONS]` is `docent eval [OPTIONS]` spelled as a command.
eval_app.command("run", help="Same as `docent eval [OPTIONS]`: run the golden set (or --questions "
                 "against --docs / --corpus) and score every answer.")(run_eval)


def _gate(settings: Any, eval_settings: Any, run_id: str | None, baseline: Path | None, *,
          echo: bool = True) -> int:
    """Gate a stored run (printing the verdict unless ``echo`` is off: ``--json`` carries it)."""
    from eval.gate import gate as decide
    from eval.gate import reference_for
    from eval.run_store import RunStore

    store = RunStore(eval_settings.resolved_runs_dir(settings.data_dir))
    ids = store.ids()
    if not ids:
        typer.echo("error: no evaluation runs yet; run `docent eval` first.", err=True)
        return 2
    current = store.load(run_id or ids[-1])
    reference = reference_for(store, current, baseline or eval_settings.baseline)
    result = decide(current, reference, eval_settings.gate_thresholds, store.history())
    if echo:
        for line in result.lines():
            typer.echo(line)
    return result.exit_code


@eval_app.command("gate")
def gate_cmd(
    run_id: Annotated[str | None, typer.Argument(help="Run to gate (default: the latest).")] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="Compare with this run JSON instead of the previous run.")
    ] = None,
) -> None:
    """Exit 1 when a gated metric of a stored run dropped more than its threshold (no new run)."""
    ensure_offline()
    settings, eval_settings = _settings()
    try:
        code = _gate(settings, eval_settings, run_id, baseline)
    except (KeyError, OSError, ValueError) as exc:
        _fail(exc)
        return
    raise typer.Exit(code)


@eval_app.command("score")
def score_cmd(
    input_path: Annotated[
        Path, typer.Option("--input", help="JSONL rows: id, question, contexts, response.")
    ],
    output: Annotated[Path, typer.Option("--output", help="JSONL out: each row + faithfulness + claims.")],
    judge: Annotated[str | None, typer.Option(help="Judge model (LiteLLM string).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    metrics: Annotated[
        str,
        typer.Option(
            help="Comma-separated: grounding (the grounding verifier, milliseconds per row, no judge "
            "model loaded) and/or faithfulness (Ragas with the judge model)."
        ),
    ] = "grounding,faithfulness",
    embed: Annotated[
        bool,
        typer.Option(
            help="Give the grounding verifier the MiniLM embedder as its second signal (borderline "
            "sentences pass when close to a source sentence); loads the embedding model."
        ),
    ] = False,
) -> None:
    """Score arbitrary answers against their contexts, claim by claim: grounding and/or faithfulness."""
    ensure_offline()
    settings, eval_settings = _settings()
    from eval import score_file

    if judge:
        eval_settings = eval_settings.model_copy(update={"judge_model": judge})
    try:
        chosen = score_file.parse_metrics(metrics)
        list(score_file.read_rows(input_path))  # fail on a bad row before loading any model
        built = None
        if "faithfulness" in chosen:
            from eval.judge import judge_for

            built = judge_for(settings, eval_settings, None)
        embed_fn = None
        if embed and "grounding" in chosen:
            from docent.embedder import build_embedder

            embed_fn = build_embedder(settings).embed_documents
        scored = score_file.run(
            input_path, output, built, progress=not quiet, metrics=chosen,
            thresholds=_thresholds(settings), embed=embed_fn,
        )
    except (DocentError, OSError, ValueError) as exc:
        _fail(exc)
        return
    typer.echo(f"scored {scored} rows -> {output}")


def _thresholds(settings: Any) -> Any:
    """The verifier thresholds the chat pipeline uses (``DOCENT_CHAT__MIN_SUPPORT`` etc.)."""
    from service.grounding import Thresholds

    chat = settings.chat
    return Thresholds(
        min_support=chat.min_support,
        borderline_support=chat.borderline_support,
        min_similarity=chat.min_sentence_similarity,
    )
