"""``run(...)``: one evaluation from settings to stored JSON, CSV and HTML.

The CLI, the ingest trigger and the API all call this. In-process it answers with a
``Runtime`` (given by the server, or opened here like ``docent ask`` does); with
``url`` it asks a running server instead.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docent.errors import EvalBusyError, StoreLockedError
from docent.settings import Settings
from eval import golden
from eval.answerers import Answerer, HttpAnswerer, InProcessAnswerer
from eval.records import RunRecord
from eval.references import ReferenceTexts
from eval.reuse import ReuseCache
from eval.run_store import RunStore
from eval.runner import RunPlan, execute
from eval.scorers import Scorers
from eval.settings import JUDGE_METRICS, EvalSettings
from eval.subsets import changes_since, select, touched

if TYPE_CHECKING:
    from service.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RunRequest:
    """What to evaluate; everything else comes from settings."""

    subset: str = "full"
    limit: int | None = None
    ids: list[str] | None = None
    url: str | None = None
    api_key: str | None = None
    # Docs changed, when the caller knows (the ingest trigger); else read from the change log.
    changed_docs: dict[str, list[str]] | None = None
    resume: bool = True
    progress: bool = True
    reuse: bool | None = None  # None: EvalSettings.reuse


REUSE_RUNS = 10  # how many recent runs answers and scores may be taken from


def code_fingerprint(*modules: str) -> str:
    """A hash of the source of ``modules`` (and the prompt files): reused results are
    invalidated when the code that produced them changes, not only when inputs do."""
    import hashlib
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            digest.update(Path(spec.origin).read_bytes())
    for prompt in sorted((Path(__file__).parent.parent / "service" / "prompts").glob("*.txt")):
        digest.update(prompt.read_bytes())
    return digest.hexdigest()[:16]


def corpus_fingerprint(store: Any) -> str:
    """The fingerprint ingest would compute, from what the index actually holds."""
    from ingest.changelog import fingerprint

    index = store.open_active()
    if index is None:
        return "empty"
    return fingerprint({path: entry.doc_hash for path, entry in index.inventory().items()})


def _is_local(model: str) -> bool:
    """Runs in this process: ``docent-local`` or a provider a plugin registered."""
    from service.llm.provider_util import in_process

    return model.startswith("docent-local/") or in_process(model)


def run(
    settings: Settings, eval_settings: EvalSettings, request: RunRequest, *, runtime: Runtime | None = None
) -> RunRecord:
    """Run (or resume) one evaluation and store it; raises EvalBusyError if one is running."""
    store = RunStore(eval_settings.resolved_runs_dir(settings.data_dir))
    with store.exclusive() as free:
        if not free:
            raise EvalBusyError("An evaluation is already running; wait for it to finish.")
        return run_with_store(settings, eval_settings, request, store, runtime)


def run_with_store(
    settings: Settings, eval_settings: EvalSettings, request: RunRequest, store: RunStore,
    runtime: Runtime | None
) -> RunRecord:
    """``run`` for a caller that already holds ``store.exclusive()``.

    ``runtime`` (the server's, or the ``ingest --watch`` worker's) answers in process;
    None builds one with ``Runtime.build`` (``docent eval``), unless ``request.url`` asks
    a server instead.
    """
    from ingest.changelog import ChangeLog
    from service.runtime import Runtime

    items = golden.load(eval_settings.golden_path)
    previous = store.latest()
    owned = None
    if request.url is None and runtime is None:
        try:
            owned = runtime = Runtime.build(settings, start_watcher=False)
        except StoreLockedError as exc:
            raise StoreLockedError(
                f"{exc} To evaluate while it runs, use `docent eval --url http://HOST:PORT` "
                "or POST /v1/evals with a staff key."
            ) from None
    try:
        if runtime is not None:
            fp = corpus_fingerprint(runtime.store)
            embedder = runtime.embedder
        else:
            from docent.embedder import build_embedder

            fp = ChangeLog(settings.data_dir).current_fingerprint() or "unknown"
            embedder = build_embedder(settings)
        if request.changed_docs is not None:
            changes = request.changed_docs
        elif previous is not None and previous.corpus_fingerprint == fp:
            changes = {"added": [], "changed": [], "removed": []}
        else:
            since = previous.started_at if previous else None
            changes = changes_since(ChangeLog(settings.data_dir).entries(), since)
        selection = select(
            items,
            request.subset,
            changed_docs=touched(changes),
            previous=previous,
            limit=request.limit,
            affected_max=eval_settings.affected_max,
            ids=request.ids,
        )
        metrics = eval_settings.metrics_for(selection.subset)
        answer_model = settings.resolved_llm().model
        judge = None
        if set(metrics) & set(JUDGE_METRICS):
            from eval.judge import judge_for

            judge = judge_for(settings, eval_settings, embedder)
        reuse = None
        if eval_settings.reuse if request.reuse is None else request.reuse:
            reuse = ReuseCache.from_runs(store.history(REUSE_RUNS))
        answerer: Answerer
        if request.url:
            answerer = HttpAnswerer(request.url, api_key=request.api_key, top_k=settings.chat.top_k)
        else:
            llm = settings.resolved_llm().model_dump_json(
                include={"model", "fallbacks", "api_base", "router_config", "temperature", "seed", "max_tokens"}
            )
            identity = f"{llm}|{settings.chat.model_dump_json()}|" + code_fingerprint(
                "service.answer", "service.answerer", "service.citations", "service.grounding",
                "service.extractive", "service.retrieval", "service.prompts",
            )
            assert runtime is not None  # built above whenever no server url is given
            # Fresh answers only: the evaluation neither reads nor fills the answer cache.
            answerer = InProcessAnswerer(replace(runtime.answerer, cache=None), identity,
                                         reuse.answers if reuse else {})
        models = {
            "answer": answer_model if not request.url else f"server at {request.url}",
            "judge": eval_settings.judge_model if judge else "",
            "embeddings": getattr(embedder, "name", ""),
        }
        plan = RunPlan(
            selection, metrics, models, fp, changes, previous.id if previous else None, answerer.description
        )
        concurrency = eval_settings.concurrency or (
            1 if _is_local(eval_settings.judge_model) and (request.url or _is_local(answer_model)) else 4
        )
        scorers = Scorers(judge, relevancy_strictness=eval_settings.relevancy_strictness)
        references = ReferenceTexts(settings.docs_dir, settings.docs_base_url, settings.chunk_max_words)

        async def go() -> RunRecord:
            try:
                return await execute(
                    plan,
                    answerer=answerer,
                    scorers=scorers,
                    references=references,
                    store=store,
                    concurrency=concurrency,
                    progress=request.progress,
                    resume=request.resume,
                    judge_usage=judge.usage.to_json if judge else None,
                    reuse=reuse,
                    judge_identity=f"{eval_settings.judge_identity()}|ragas-{version('ragas')}|"
                    + code_fingerprint("eval.scorers", "eval.faithfulness"),
                )
            finally:
                if isinstance(answerer, HttpAnswerer):
                    await answerer.aclose()

        record = asyncio.run(go())
    finally:
        if owned is not None:
            owned.close()
    save(store, record, eval_settings)
    store.clear_partial()
    return record


def save(store: RunStore, record: RunRecord, eval_settings: EvalSettings) -> Path:
    """Write the run's JSON (with the gate's verdict against its reference), CSV and HTML report;
    returns the JSON path."""
    from eval.exports import write_csv
    from eval.gate import gate, reference_for
    from eval.report_html import render

    history = [r for r in store.history(eval_settings.trend_runs) if r.id != record.id] + [record]
    try:
        reference = reference_for(store, record, eval_settings.baseline)
    except (OSError, ValueError, KeyError) as exc:  # a bad baseline file must not lose the run
        log.warning("no gate verdict in the report: baseline %s unreadable: %s", eval_settings.baseline, exc)
        reference = None
    record.gate = gate(record, reference, eval_settings.gate_thresholds, history).to_json()
    path = store.save(record)
    write_csv(record, store.path(record.id, ".csv"))
    store.path(record.id, ".html").write_text(
        render(record, history, low_faithfulness=eval_settings.low_faithfulness), encoding="utf-8"
    )
    return path
