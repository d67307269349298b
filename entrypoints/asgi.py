"""Composition root for the server: the service app plus the evaluation suite.

``service`` never imports ``eval``; this module wires the eval routes (/v1/evals) and
the "evaluate after every docs change" trigger into the app and its hosted watcher.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from docent.settings import Settings
from service.runtime import Runtime

if TYPE_CHECKING:
    from eval.settings import EvalSettings


def _eval_trigger(settings: Settings) -> Any:
    """The hosted watcher's "evaluate after each docs change" hook, or None (the default).

    In the server an evaluation loads the judge model and Ragas into the API process
    (RSS 0.9 -> 3.2 GB, ~75% CPU while it runs), and the embedded store cannot be opened
    by a second process, so ``docent serve`` evaluates after docs changes only when
    ``DOCENT_EVAL_TRIGGER`` (smoke or affected) is set explicitly. The ``docent ingest
    --watch`` worker, a process of its own, keeps the ``affected`` default.
    """
    from eval.settings import EvalSettings
    from eval.trigger import on_ingest_change

    eval_settings = EvalSettings()
    if "trigger" not in eval_settings.model_fields_set or eval_settings.trigger == "off":
        return None

    def trigger(entry: dict[str, Any], runtime: Runtime) -> None:
        on_ingest_change(entry, settings, runtime=runtime, eval_settings=eval_settings)

    return trigger


def build_runtime(settings: Settings, *, lock_info: dict[str, Any] | None = None) -> Runtime:
    """The runtime with the eval trigger attached to its docs watcher."""
    return Runtime.build(settings, lock_info=lock_info, on_ingest_change=_eval_trigger(settings))


def build_app(settings: Settings, runtime: Runtime | None = None,
              eval_settings: EvalSettings | None = None) -> FastAPI:
    """The full app: service routes plus the staff evaluation routes.

    Without ``runtime`` the app's lifespan builds its own (uvicorn ``--factory``
    workers, server mode: no hosted watcher there, so no trigger is needed). The eval
    settings are read here, once, and the eval routes find them on ``app.state``.
    """
    from eval.api import router as evals_router
    from eval.settings import EvalSettings as _EvalSettings
    from service.app import create_app

    app = create_app(settings, runtime=runtime, extra_routers=[evals_router])
    app.state.eval_settings = eval_settings or _EvalSettings()
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` with several workers (server mode): settings from the env.

    ``docent serve --workers N`` invokes it with the options of ``docent.serving``
    (forwarded headers only from ``trusted_proxies``, header/body deadlines, header
    limits). A bare ``uvicorn entrypoints.asgi:app_from_env --factory`` gets uvicorn's own
    defaults instead: X-Forwarded-For believed from 127.0.0.1 and no request deadlines.
    """
    from docent.offline import ensure_offline
    from service.observability.logs import configure_logging

    ensure_offline()
    settings = Settings()
    # Each worker process sets up its own logging (JSON lines with request ids by default).
    configure_logging(settings.log_level, settings.log_format)
    return build_app(settings)
