"""What every ``docent`` subcommand shares: settings with a clean error, and failing with a message."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

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


def fail(exc: DocentError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)
