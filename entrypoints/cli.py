"""The ``docent`` command. Subcommands only parse arguments, build settings and call a
``run(...)`` that tests call too; heavy imports happen inside each command so
``docent --help`` is instant and the offline variables are set before any of them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from docent.errors import DocentError
from docent.offline import ensure_offline
from entrypoints import cli_admin
from entrypoints.cli_common import fail, load_settings, run_job
from entrypoints.cli_sources import sources_app

if TYPE_CHECKING:  # annotations only: the real imports stay lazy, inside each command
    import threading

    from docent.embedder import Embedder
    from docent.index import IndexStore
    from docent.settings import Settings

app = typer.Typer(help="Docent: a support chatbot that answers from your documentation, with citations.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """Docent: a support chatbot that answers from your documentation, with citations."""


@app.command()
def ingest(
    path: Annotated[Path | None, typer.Argument(help="Docs folder (default: DOCENT_DOCS_DIR, ./docs-corpus).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as one JSON object.")] = False,
    rebuild: Annotated[bool, typer.Option(help="Build a fresh collection and switch to it when complete.")] = False,
    watch: Annotated[bool, typer.Option(help="Keep running and re-ingest when files change.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    check_visibility: Annotated[bool, typer.Option(
        "--check-visibility", help="Index nothing: print each doc's visibility and the rule that decided it; "
        "exit 1 if a page failed closed or nothing decided it.")] = False,
) -> None:
    """Chunk, embed and index the docs folder, incrementally."""
    ensure_offline()
    settings = load_settings()
    from ingest import worker

    docs = path or settings.docs_dir
    if check_visibility:
        _check_visibility(settings, docs, as_json)
        return
    if watch:
        try:
            _watch(settings, docs, as_json)
        except DocentError as exc:
            fail(exc)
        return
    if rebuild and settings.sources:  # the new collection gets every source's pages too (from disk)
        from ingest.sources import rebuild as sources_rebuild

        s = run_job(lambda: sources_rebuild.run(settings, path, progress=not quiet and not as_json), as_json=as_json)
    else:
        s = run_job(lambda: worker.run(settings, docs, rebuild=rebuild, progress=not quiet and not as_json),
                    as_json=as_json)
    if s is None:
        return
    typer.echo(f"docs:   {s.docs_added} added, {s.docs_updated} updated, {s.docs_deleted} deleted, "
               f"{s.docs_unchanged} unchanged")
    typer.echo(f"chunks: {s.chunks_added} added, {s.chunks_updated} updated, {s.chunks_deleted} deleted, "
               f"{s.chunks_unchanged} unchanged")
    for skip in s.skipped:
        typer.echo(f"skipped {skip['path']}: {skip['reason']}")
    for warning in s.warnings:
        typer.echo(f"warning {warning['path']}: {warning['warning']}")
    typer.echo(f"collection {s.collection}, fingerprint {s.fingerprint}, {s.seconds:.1f}s")


def _check_visibility(settings: Settings, docs: Path, as_json: bool) -> None:
    from ingest.worker import check_visibility

    try:
        rows = check_visibility(settings, docs)
    except DocentError as exc:
        fail(exc)
        return
    bad = [r for r in rows if not r.ok]
    if as_json:
        typer.echo(json.dumps([{"path": r.path, "visibility": r.visibility, "groups": list(r.groups),
                                "rule": r.rule, "ok": r.ok} for r in rows]))
    else:
        width = max((len(r.path) for r in rows), default=4)
        for r in rows:
            groups = ",".join(r.groups) or "-"
            typer.echo(f"{'ok ' if r.ok else 'BAD'} {r.visibility:<8} {groups:<16} {r.path:<{width}}  {r.rule}")
        counts = {v: sum(r.visibility == v for r in rows) for v in ("public", "internal", "skipped")}
        typer.echo(f"{counts['public']} public, {counts['internal']} internal, {counts['skipped']} skipped; "
                   f"{len(bad)} need attention", err=True)
    if bad:
        raise typer.Exit(1)


def _watch(settings: Settings, docs: Path, as_json: bool) -> None:
    from docent.embedder import build_embedder
    from docent.index import open_store
    from ingest.worker import Watcher, build_ingestor

    store = open_store(settings, role="ingest --watch")
    try:
        embedder = build_embedder(settings)
        if settings.sources:  # the worker syncs the named sources on their schedules instead
            from ingest.sources.schedule import Scheduler

            typer.echo("syncing sources on their schedules (Ctrl-C to stop)", err=True)
            with contextlib.suppress(KeyboardInterrupt):
                Scheduler(settings, store, embedder, on_change=_eval_trigger(settings, store, embedder)).loop()
            return
        watcher = Watcher(build_ingestor(settings, store, embedder), docs,
                          on_summary=lambda s: typer.echo(json.dumps(s.to_json()) if as_json else
                                                          f"ingested: {s.changes} in {s.seconds:.1f}s"),
                          on_change=_eval_trigger(settings, store, embedder))
        watcher.ingest_now()
        typer.echo(f"watching {docs} for changes (Ctrl-C to stop)", err=True)
        with contextlib.suppress(KeyboardInterrupt):
            watcher.loop()
    finally:
        store.close()


def _eval_trigger(settings: Settings, store: IndexStore,
                  embedder: Embedder) -> Callable[[dict[str, Any]], threading.Thread | None]:
    """The watcher's on_change hook: evaluate after each ingest that changed docs.

    A worker process (compose's `worker`) answers the evaluation's questions through a
    ``Runtime`` over its own open store and embedder, built on first use (the model is
    not loaded until docs change). The hook returns the evaluation's thread, or None
    when it started none.
    """
    from eval.trigger import on_ingest_change
    from service.runtime import Runtime

    runtime: Runtime | None = None

    def changed(entry: dict[str, Any]) -> threading.Thread | None:
        nonlocal runtime
        runtime = runtime or Runtime.build(settings, store=store, embedder=embedder, start_watcher=False)
        return on_ingest_change(entry, settings, runtime=runtime)

    return changed


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (server mode only; embedded needs 1).")] = 1,
) -> None:
    """Serve the chat API (and, in embedded mode, watch and re-ingest the docs folder)."""
    ensure_offline()
    settings = load_settings()
    import uvicorn

    from docent.serving import uvicorn_options
    from entrypoints.asgi import build_app, build_runtime
    from service.observability.logs import configure_logging

    # JSON lines by default. uvicorn gets log_config=None so its loggers use this handler;
    # the request middleware writes the access lines (route template, status, request id).
    configure_logging(settings.log_level, settings.log_format)
    if workers > 1 and not settings.resolved_index().url:
        typer.echo("error: the embedded store is single-process; use --workers 1 or set QDRANT_URL.", err=True)
        raise typer.Exit(2)
    # Proxy trust and connection limits from the settings, identical in both paths: the
    # workers' uvicorn config (these options included) is pickled into each worker process.
    options = uvicorn_options(settings)
    if workers > 1:
        uvicorn.run("entrypoints.asgi:app_from_env", factory=True, host=host, port=port, workers=workers, **options)
        return
    try:
        # Built here rather than in the lifespan so a bad start-up is a clean message.
        runtime = build_runtime(settings, lock_info={"url": f"http://{host}:{port}"})
    except DocentError as exc:
        fail(exc)
        return
    runtime.warm_model()
    try:
        uvicorn.run(build_app(settings, runtime), host=host, port=port, **options)
    finally:
        runtime.close()


@app.command()
def mcp(
    base_url: Annotated[str, typer.Option(help="Make doc links absolute with this URL (e.g. https://docs.example.com); "
                                               "default: links as in the index.")] = "",
) -> None:
    """Serve the docs to MCP clients (editors, agents) over stdio: search_docs, ask_docs, get_page.

    Public docs only, unless DOCENT_MCP_STAFF_KEY holds a staff key (its groups' internal docs).
    A running `docent serve` offers the same tools over HTTP at /mcp.
    """
    ensure_offline()
    settings = load_settings()
    import os
    import sys

    from service.mcp_server import build_server, stdio_caller
    from service.runtime import Runtime

    try:
        # stdout is the protocol: whatever start-up prints goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            runtime = Runtime.build(settings, start_watcher=False, lock_info={"command": "docent mcp"})
    except DocentError as exc:
        fail(exc)
        return
    try:
        caller = stdio_caller(runtime, os.environ.get("DOCENT_MCP_STAFF_KEY"))
        build_server(lambda: runtime, caller, base_url).run("stdio")
    except DocentError as exc:
        fail(exc)
    finally:
        runtime.close()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    url: Annotated[str | None, typer.Option(help="Ask a running server (e.g. http://127.0.0.1:8000) "
                                                 "instead of opening the index in-process.")] = None,
    api_key: Annotated[str | None, typer.Option(envvar="DOCENT_API_KEY", help="Staff key for --url.")] = None,
    internal: Annotated[bool, typer.Option(help="In-process: include internal docs (staff view).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON response.")] = False,
) -> None:
    """Answer one question and print it with its sources."""
    ensure_offline()
    settings = load_settings()
    try:
        body = _ask_remote(url, api_key, question) if url else _ask_local(settings, question, internal)
    except DocentError as exc:
        fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    typer.echo(body["answer"])
    if body.get("citations"):
        typer.echo("\nSources:")
        for c in body["citations"]:
            typer.echo(f"  [{c['marker']}] {' > '.join(c['heading_path'])}  {c['url']}")
    if body.get("handoff"):
        typer.echo(f"\n{body['handoff']['label']}: {body['handoff']['url']}")
    usage = body.get("usage", {})
    typer.echo(f"\n({usage.get('model')}, {body.get('latency_ms', 0):.0f} ms)", err=True)


def _ask_remote(url: str, api_key: str | None, question: str) -> dict[str, Any]:
    import httpx

    headers = {"X-API-Key": api_key} if api_key else {}
    try:
        r = httpx.post(f"{url.rstrip('/')}/v1/chat", json={"message": question}, headers=headers, timeout=300)
    except httpx.HTTPError as exc:
        raise DocentError(f"cannot reach {url}: {exc}") from None
    if r.status_code != 200:
        raise DocentError(f"server answered {r.status_code}: {r.json().get('detail', r.text)}")
    return r.json()  # type: ignore[no-any-return]


def _ask_local(settings: Settings, question: str, internal: bool) -> dict[str, Any]:
    import asyncio
    import time

    from docent.schema import Access
    from service.api.views import to_response
    from service.runtime import Runtime

    runtime = Runtime.build(settings, start_watcher=False)
    try:
        started = time.perf_counter()
        access = Access.staff(all_groups=True) if internal else Access.public()
        ans = asyncio.run(runtime.answerer.answer(question, [], access))
        return to_response(ans, settings.chat, "", 0, started).model_dump()
    finally:
        runtime.close()


def _mount_eval() -> None:
    # `docent eval ...` lives in the eval package (nothing else imports it); eval.cli
    # itself imports nothing heavy until a command runs.
    from eval.cli import eval_app

    app.add_typer(eval_app, name="eval", help="Evaluate answers on the golden set (Ragas + Docent metrics).")


_mount_eval()

# The operator commands (models, keys, index) live in their own module.
for _name, _sub in cli_admin.SUBCOMMANDS.items():
    app.add_typer(_sub, name=_name)
app.add_typer(sources_app, name="sources")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
