"""Request middleware: request id, one access log line, and the HTTP metrics.

Pure ASGI rather than ``BaseHTTPMiddleware``, so Server-Sent Events pass through
unbuffered and the duration covers the whole stream.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.logs import request_id_from, request_id_var
from service.observability.metrics import Metrics

access_log = logging.getLogger("docent.access")
REQUEST_ID_HEADER = "x-request-id"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's template (``/docs/{path}``), never the raw path.

    FastAPI puts the matched route in the scope while routing (also for a 405); anything
    that matched no route (404s, CORS preflights answered early) is ``unmatched``.
    """
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


def method_label(scope: Scope) -> str:
    """The HTTP method, or ``other``: clients may send any token there."""
    method = str(scope.get("method", ""))
    return method if method in METHODS else "other"


class ObservabilityMiddleware:
    """Sets the request id (header in, header out, context variable), then logs and counts."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = request_id_from(headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1") or None)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before responding

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            # The id stays set: the outer error handler's "unhandled error" line carries it
            # (each request runs in its own task, so it cannot leak into another request).
            self._finish(scope, status, time.perf_counter() - started, rid)
            raise
        self._finish(scope, status, time.perf_counter() - started, rid)
        request_id_var.reset(token)

    def _finish(self, scope: Scope, status: int, seconds: float, rid: str) -> None:
        route = route_template(scope)
        method = method_label(scope)
        if self.metrics is not None:
            self.metrics.observe_request(route, method, status, seconds)
        # The raw path is not logged: it can carry a doc path or an id; the template cannot.
        access_log.info("%s %s %d", method, route, status,
                        extra={"route": route, "method": method, "status": status,
                               "duration_ms": round(seconds * 1000, 1), "request_id": rid})
