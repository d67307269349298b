"""Structured logs: one JSON object per line, each carrying the request id.

The request id lives in a context variable set by the request middleware, so every log
line written while serving a request (in the route, in LiteLLM, in a streaming
generator) carries it without being passed around.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

request_id_var: ContextVar[str | None] = ContextVar("docent_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
# uvicorn's color_message is its msg with ANSI colours: noise in a JSON line.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "color_message"}
# LiteLLM logs each call (with its prompt: retrieved chunk text) at INFO and DEBUG.
NOISY = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "httpcore", "sentence_transformers")


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is short and plain, else a fresh one."""
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    """ts, level, logger, msg, request_id, then the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None) or request_id_var.get()
        return f"{line} [request_id={rid}]" if rid else line


def configure_logging(level: str, fmt: Literal["json", "text"], *, stream: TextIO | None = None) -> None:
    """Route all logging (uvicorn's included) to one stderr handler in the chosen format.

    Replaces the root logger's handlers, so it is safe to call again (e.g. in each worker).
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's own loggers propagate to the root handler; its access log is replaced
    # by the middleware's (route template, status, duration, request id).
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.disabled = True
