"""The ``docent`` command. Subcommands only parse arguments, build settings and call a
``run(...)`` that tests call too; heavy imports happen inside each command so
``docent --help`` is instant and the offline variables are set before any of them.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from docent.errors import DocentError
from docent.offline import ensure_offline

app = typer.Typer(help="Docent: a support chatbot that answers from your documentation, with citations.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """Docent: a support chatbot that answers from your documentation, with citations."""


def _settings():  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from docent.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"error: invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _fail(exc: DocentError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


@app.command()
def ingest(
    path: Annotated[Path | None, typer.Argument(help="Docs folder (default: DOCENT_DOCS_DIR, ./docs-corpus).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as one JSON object.")] = False,
    rebuild: Annotated[bool, typer.Option(help="Build a fresh collection and switch to it when complete.")] = False,
    watch: Annotated[bool, typer.Option(help="Keep running and re-ingest when files change.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Chunk, embed and index the docs folder, incrementally."""
    ensure_offline()
    settings = _settings()
    from ingest import worker

    docs = path or settings.docs_dir
    try:
        if watch:
            _watch(settings, docs, as_json)
            return
        summary = worker.run(settings, docs, rebuild=rebuild, progress=not quiet and not as_json)
    except DocentError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(summary.to_json()))
        return
    s = summary
    typer.echo(f"docs:   {s.docs_added} added, {s.docs_updated} updated, {s.docs_deleted} deleted, "
               f"{s.docs_unchanged} unchanged")
    typer.echo(f"chunks: {s.chunks_added} added, {s.chunks_updated} updated, {s.chunks_deleted} deleted, "
               f"{s.chunks_unchanged} unchanged")
    for skip in s.skipped:
        typer.echo(f"skipped {skip['path']}: {skip['reason']}")
    for warning in s.warnings:
        typer.echo(f"warning {warning['path']}: {warning['warning']}")
    typer.echo(f"collection {s.collection}, fingerprint {s.fingerprint}, {s.seconds:.1f}s")


def _watch(settings, docs: Path, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    from docent.index import open_store
    from ingest.worker import Watcher, build_embedder, build_ingestor

    store = open_store(settings, role="ingest --watch")
    try:
        watcher = Watcher(build_ingestor(settings, store, build_embedder(settings)), docs,
                          on_summary=lambda s: typer.echo(json.dumps(s.to_json()) if as_json else
                                                          f"ingested: {s.changes} in {s.seconds:.1f}s"))
        watcher.ingest_now()
        typer.echo(f"watching {docs} for changes (Ctrl-C to stop)", err=True)
        try:
            watcher.loop()
        except KeyboardInterrupt:
            pass
    finally:
        store.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (server mode only; embedded needs 1).")] = 1,
) -> None:
    """Serve the chat API (and, in embedded mode, watch and re-ingest the docs folder)."""
    ensure_offline()
    settings = _settings()
    import uvicorn

    from service.app import create_app
    from service.runtime import Runtime

    if workers > 1 and not settings.resolved_index().url:
        typer.echo("error: the embedded store is single-process; use --workers 1 or set QDRANT_URL.", err=True)
        raise typer.Exit(2)
    if workers > 1:
        uvicorn.run("service.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level.lower())
        return
    try:
        # Built here rather than in the lifespan so a bad start-up is a clean message.
        runtime = Runtime.build(settings, lock_info={"url": f"http://{host}:{port}"})
    except DocentError as exc:
        _fail(exc)
        return
    try:
        uvicorn.run(create_app(settings, runtime=runtime), host=host, port=port,
                    log_level=settings.log_level.lower())
    finally:
        runtime.close()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
