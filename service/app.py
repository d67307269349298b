"""The app factory: routers, error handlers, and a lifespan that owns the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Route

from docent.settings import Settings
from service import observability
from service.api import access, errors
from service.api.limits import BodySizeLimit, HeadAsGet
from service.api.routes import admin, chat, console, gaps, handoff, health, llms, metrics, openai, pages, search, widget
from service.api.routes import sources as sources_routes
from service.mcp_server import HttpEndpoint
from service.runtime import Runtime


def create_app(settings: Settings, *, runtime: Runtime | None = None,
               lock_info: dict[str, Any] | None = None, extra_routers: Sequence[APIRouter] = ()) -> FastAPI:
    """Build the app. With ``runtime`` given, the caller owns its lifetime.

    ``extra_routers`` lets the composition root (entrypoints/asgi.py) mount the evaluation
    suite's routes without ``service`` importing ``eval``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime or Runtime.build(settings, lock_info=lock_info)
        app.state.runtime.handoffs.start_background()  # retries undelivered handoffs (when configured)
        try:
            async with mcp.running():  # the MCP session manager's task group lives as long as the app
                yield
        finally:
            app.state.runtime.handoffs.stop_background()
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="Docent",
        version="0.1.0",
        summary="Answers from your documentation, with citations, or an honest handoff.",
        # /docs serves the public documentation pages (citation URLs point there). The API
        # docs pages pull Swagger UI / ReDoc from a CDN: only with DOCENT_API_DOCS=true.
        docs_url="/api-docs" if settings.api_docs else None,
        redoc_url="/redoc" if settings.api_docs else None,
        swagger_ui_oauth2_redirect_url="/api-docs/oauth2-redirect",
        lifespan=lifespan,
    )
    mcp = HttpEndpoint(lambda: app.state.runtime, settings.max_request_bytes)
    errors.install(app)
    app.add_middleware(HeadAsGet)  # innermost: logs and metrics still see HEAD
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)  # inside CORS: 413s carry its headers
    widget.add_cors(app, settings.widget)
    observability.install(app, settings)  # after CORS, so it wraps it
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(chat.router)
    app.include_router(search.router)
    app.include_router(widget.router)
    app.include_router(console.router)
    app.include_router(handoff.router)
    app.include_router(gaps.router)
    app.include_router(openai.router)
    app.include_router(llms.router)  # before pages: /docs/{path}.md is Markdown, /docs/{path} HTML
    app.router.routes.append(Route("/mcp", endpoint=mcp))  # MCP streamable HTTP (service/mcp_server.py)
    for router in extra_routers:
        app.include_router(router)
    app.include_router(admin.router)
    app.include_router(sources_routes.router)
    app.include_router(pages.router)  # last: it owns "/" and "/docs/{path}"
    access.declare(app)
    return app

