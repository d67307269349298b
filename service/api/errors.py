"""Domain errors and bad input map to clear 4xx/5xx JSON once, here; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from docent.errors import (
    BusyError,
    DocentError,
    ForbiddenError,
    IndexMismatchError,
    InvalidRequestError,
    NotConfiguredError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from service.api.schemas import ErrorBody

log = logging.getLogger(__name__)

# The one table from domain error to HTTP status; a class not listed takes its nearest
# listed base's (``status_for``), and plain ``DocentError`` is a 500.
STATUS: dict[type[DocentError], int] = {
    DocentError: 500,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    BusyError: 409,
    IndexMismatchError: 409,
    NotConfiguredError: 409,
    InvalidRequestError: 422,
    RateLimitedError: 429,
    UnavailableError: 503,
}
# How long a client should wait before retrying a 503 (the dependency may come back).
UNAVAILABLE_RETRY_AFTER_S = 5


def status_for(exc: DocentError) -> int:
    """The HTTP status of a domain error: its class's entry in ``STATUS``, or its nearest base's."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


def headers_for(exc: DocentError) -> dict[str, str] | None:
    """Response headers a domain error calls for: Retry-After, WWW-Authenticate."""
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, UnavailableError):
        return {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
    if isinstance(exc, UnauthorizedError) and exc.challenge:
        return {"WWW-Authenticate": exc.challenge}
    return None


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


def _document_error_body(app: FastAPI) -> None:
    """Make the OpenAPI schema say what a 422 really is: ``{"detail": "..."}``, not FastAPI's list.

    FastAPI documents request validation failures as ``HTTPValidationError`` (a list of
    error objects), but ``_invalid`` below answers with the one ``ErrorBody`` shape every
    error uses; clients and schema-driven tests (schemathesis) read the schema.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorBody", ErrorBody.model_json_schema())
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                invalid = operation.get("responses", {}).get("422")
                if invalid is not None:
                    invalid["content"] = body
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def install(app: FastAPI) -> None:
    """Register the exception handlers, and document their 422 body in the OpenAPI schema."""
    _document_error_body(app)

    @app.exception_handler(DocentError)
    async def _domain(_: Request, exc: DocentError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.warning("%s: %s", type(exc).__name__, exc)
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    # Still needed for what the framework raises itself: unknown paths (404), wrong methods (405).
    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse({"detail": "Internal error; it has been logged."}, status_code=500)
