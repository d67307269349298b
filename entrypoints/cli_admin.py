"""Operator subcommands: ``docent models``, ``docent keys`` and ``docent index``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from docent.errors import DocentError
from docent.offline import ensure_offline
from entrypoints.cli_common import fail, load_settings, run_job

models_app = typer.Typer(help="Prepare and check the packaged model files.", no_args_is_help=True)


@models_app.command("prepare")
def models_prepare() -> None:
    """Join the packaged GGUF parts into the data dir and verify their sha256 (once)."""
    ensure_offline()
    settings = load_settings()
    from service.llm.model_files import prepare_models

    try:
        for name, path in prepare_models(settings.models_dir).items():
            typer.echo(f"{name}: {path}")
    except DocentError as exc:
        fail(exc)


keys_app = typer.Typer(help="Staff API keys.", no_args_is_help=True)


@keys_app.command("hash")
def keys_hash(
    key: Annotated[str, typer.Argument(help="The key to hash (keep the key secret; store the hash).")],
) -> None:
    """Print the sha256 to put in DOCENT_AUTH__STAFF_KEYS."""
    import hashlib

    typer.echo(hashlib.sha256(key.encode()).hexdigest())


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who holds the key (shown in the console and logs).")],
    group: Annotated[list[str] | None, typer.Option("--group", help="Internal-doc group it may read; repeatable.")]
    = None,
    admin: Annotated[bool, typer.Option(help="May run ingests and evaluations and list keys.")] = False,
) -> None:
    """Generate a new staff key: prints the key once, and the settings entry that holds only its hash."""
    import hashlib
    import secrets

    key = "dk_" + secrets.token_urlsafe(32)
    entry = {"name": name, "sha256": hashlib.sha256(key.encode()).hexdigest(), "groups": group or [],
             "admin": admin}
    typer.echo(f"key (shown once; give it to {name}): {key}")
    typer.echo("add this entry to the DOCENT_AUTH__STAFF_KEYS JSON list:")
    typer.echo(json.dumps(entry))


index_app = typer.Typer(help="Move the index between backends.", no_args_is_help=True)


@index_app.command("migrate")
def index_migrate(
    to: Annotated[str, typer.Option("--to", help="Target Qdrant server URL, e.g. http://qdrant:6333.")],
    api_key: Annotated[str | None, typer.Option(envvar="DOCENT_MIGRATE_API_KEY",
                                                help="API key of the target server (or DOCENT_MIGRATE_API_KEY).")]
    = None,
    collection: Annotated[str | None, typer.Option(help="Alias on the target (default: DOCENT_INDEX__COLLECTION).")]
    = None,
    replace: Annotated[bool, typer.Option(help="Swap out a non-empty collection already on the target.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Points per upsert.")] = 256,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Copy the index, vectors included, to a Qdrant server: no re-embedding.

    The source is the configured store (embedded unless QDRANT_URL is set): stop the server holding it first.

    Shards and replicas on the target: DOCENT_INDEX__SHARD_NUMBER, DOCENT_INDEX__REPLICATION_FACTOR.
    """
    ensure_offline()
    settings = load_settings()
    from docent.index.migrate import run

    summary = run_job(lambda: run(settings, to, api_key=api_key, collection=collection, replace=replace,
                                  batch_size=batch_size, progress=not quiet and not as_json), as_json=as_json)
    if summary is None:
        return
    typer.echo(f"copied {summary.points} points ({summary.embed_model}, {summary.dim} dims) from "
               f"{summary.source} to {summary.target} at {to} in {summary.seconds:.1f}s")
    if summary.replaced:
        typer.echo(f"replaced {summary.replaced}")
    typer.echo(f"point the API and workers at it: QDRANT_URL={to}")


SUBCOMMANDS = {"models": models_app, "keys": keys_app, "index": index_app}
