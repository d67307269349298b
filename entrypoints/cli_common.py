"""What every ``docent`` subcommand shares: settings with a clean error, and failing with a message."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import typer

from docent.errors import DocentError

if TYPE_CHECKING:
    from docent.settings import Settings


def load_settings() -> Settings:
    from pydantic import ValidationError

    from docent.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"error: invalid settings:\n{exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # LiteLLM logs every call at INFO; keep the console for Docent's own messages.
    for noisy in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def fail(exc: DocentError) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


class Summary(Protocol):
    def to_json(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=Summary)


def run_job(job: Callable[[], S], *, as_json: bool) -> S | None:
    """Run a command's job: a domain error is a clean message and exit 2; with ``--json``
    the summary is printed as one JSON object (and None returned), else it is returned
    for the command's own wording."""
    try:
        summary = job()
    except DocentError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(summary.to_json()))
        return None
    return summary
