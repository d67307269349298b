"""``docent sources list`` and ``docent sources sync NAME [--full]``."""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated

import typer

from docent.errors import DocentError
from docent.offline import ensure_offline
from entrypoints.cli_common import fail, load_settings


class _DomainErrorsQuiet(logging.Filter):
    """Drops log records carrying a DocentError: the command prints those itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DocentError))


sources_app = typer.Typer(help="Named docs sources: folders, Git repositories, websites (DOCENT_SOURCES).",
                          no_args_is_help=True)


@sources_app.command("list")
def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False,
) -> None:
    """Each configured source and its last sync."""
    settings = load_settings()
    from ingest.sources.state import redacted
    from ingest.sources.sync import load_state

    rows = [{"name": s.name, "kind": s.kind, "location": redacted(s.location), "schedule_s": s.schedule_s,
             **load_state(settings, s).to_json()} for s in settings.sources]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo("no sources configured: the docs folder is ingested (`docent ingest`)")
    for row in rows:
        last = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["last_sync"])) if row["last_sync"] else "never"
        typer.echo(f"{row['name']:<16} {row['kind']:<8} {row['location']}")
        typer.echo(f"{'':<16} last sync {last}: {row['added']} added, {row['changed']} changed, "
                   f"{row['deleted']} deleted, {row['unchanged']} unchanged, {row['failed']} failed"
                   + (f"; version {row['version'][:12]}" if row["version"] else ""))
        for error in row["errors"][:10]:
            typer.echo(f"{'':<16} error: {error}")


@sources_app.command("sync")
def sources_sync(
    name: Annotated[str, typer.Argument(help="The source's name (see `docent sources list`).")],
    full: Annotated[bool, typer.Option("--full", help="Re-fetch everything: no conditional requests, "
                                       "the whole repository re-read.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sync's state as one JSON object.")] = False,
) -> None:
    """Sync one source into the index now (stop `docent serve` first in embedded mode)."""
    ensure_offline()  # the embedder loads offline; the source itself is fetched over the network
    settings = load_settings()
    from ingest.sources.sync import run_sync

    # A domain error (no such folder, a failed clone) is this command's one-line message and exit 2,
    # not a logged traceback as well.
    quiet = _DomainErrorsQuiet()
    logging.getLogger("ingest.sources.sync").addFilter(quiet)
    try:
        state = run_sync(settings, name, full=full)
    except DocentError as exc:
        fail(exc)
    finally:
        logging.getLogger("ingest.sources.sync").removeFilter(quiet)
    if as_json:
        typer.echo(json.dumps(state.to_json()))
        return
    typer.echo(f"{name}: {state.added} added, {state.changed} changed, {state.deleted} deleted, "
               f"{state.unchanged} unchanged, {state.failed} failed in {state.seconds:.1f}s")
    for error in state.errors[:20]:
        typer.echo(f"error: {error}")
