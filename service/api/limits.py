"""Request body size limit, as pure ASGI so streamed responses are never buffered.

A declared Content-Length over the limit is refused before any byte is read; a
chunked body is counted as it arrives and refused the moment it passes the limit.
Either way the client gets 413 with a JSON message and the handler never runs.
A client that disconnects before its body is complete gets no handler run either.

Also here: HEAD answered for every GET route (``HeadAsGet``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if pending is not None:
                return pending
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replay


def _refusal(limit: int) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"detail": f"Request body too large; the limit is {limit} bytes."}).encode()
    start = {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, body


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Bodies here are small (the limit is KiBs), so read the whole body first and
        # replay it: a refusal then never races a handler that already started.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # gone (or cut off by the server's body deadline): nobody to answer
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(chunks, None, receive), send)

    async def _refuse(self, send: Send) -> None:
        start, body = _refusal(self.max_bytes)
        await send(start)
        await send({"type": "http.response.body", "body": body})


class HeadAsGet:
    """Answer HEAD for every GET route (uptime checkers use it), as pure ASGI.

    The app sees a GET (so routing, access checks and headers are the GET's own) and
    the body is dropped on the way out; uvicorn would drop it too, but not every server
    does. Installed innermost, so logs and metrics still say HEAD.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, headers_only)
        finally:
            # The router records the matched route in the scope it was given: hand it back,
            # so the access log and metrics name the route, but keep the method HEAD
            # (the server reads it to send no body).
            scope.update({k: v for k, v in inner.items() if k != "method"})
