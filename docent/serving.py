"""How ``docent serve`` runs uvicorn: whose forwarded headers to believe, and connection limits.

uvicorn bounds idle time between requests (``timeout_keep_alive``) and, with
``limit_concurrency``, the open connections, but nothing before or during a request:
a new connection that sends nothing, or its headers or body a byte at a time, stays
open for ever, and httptools (uvicorn's default parser) buffers an unfinished header
of any size. ``BoundedHttpProtocol`` adds those bounds to uvicorn's own httptools
protocol through its parser callbacks. This is the smallest place that can do it: an
ASGI middleware only runs once the headers are complete, so it can neither time out
nor size-limit them, and a protocol subclass keeps uvicorn's request handling,
pipelining and keep-alive as they are. It is passed to uvicorn as ``http=``.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any, Literal, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from docent.settings import Settings


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The per-connection bounds (``server`` settings), picklable for uvicorn's worker processes."""

    header_timeout_s: float
    body_timeout_s: float
    max_header_bytes: int
    max_headers: int


class _HeadersTooLarge(Exception):
    """Raised inside a parser callback: httptools stops parsing and uvicorn answers an error."""


Phase = Literal["idle", "head", "body", "app"]


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body deadlines and header size and count limits.

    - From the connection's start (or a keep-alive request's first byte) the request line
      and headers must arrive within ``header_timeout_s``, then the body within
      ``body_timeout_s`` (a total, so a byte every few seconds does not keep it alive).
      Past either: 408 if some of a request came and no response started, then close.
    - More than ``max_header_bytes`` of request line and headers, or more than
      ``max_headers`` header lines: 431 and close. Bytes of an unfinished header are
      counted as they arrive, so at most one socket read past the limit is ever buffered.
    """

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *, limits: ConnectionLimits) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._phase: Phase = "idle"
        self._deadline: asyncio.TimerHandle | None = None
        self._unparsed = 0  # bytes received since the last complete header block
        self._head_size = 0  # request target plus header names and values of this request
        self._head_count = 0
        self._too_large = False

    # Connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s)  # a connection that never sends a request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase != "body":
            self._unparsed += len(data)
        super().data_received(data)
        if (self._phase in ("idle", "head") and self._unparsed > self.limits.max_header_bytes
                and not self.transport.is_closing()):
            self._too_large = True
            self._reply_and_close(431, "Request headers too large.")

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every parser error, ours included, through here.
        if self._too_large:
            self._reply_and_close(431, "Request headers too large.")
        else:
            super().send_400_response(msg)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"
        self._head_size = self._head_count = 0
        if self._deadline is None:  # after keep-alive: the clock starts with the first byte
            self._arm(self.limits.header_timeout_s)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count(len(url), 0)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value), 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._phase = "body"
        self._unparsed = 0
        self._arm(self.limits.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._phase = "app"
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._phase == "app":  # not when a pipelined request is already being read
            self._phase = "idle"
        super().on_response_complete()

    # Helpers

    def _count(self, size: int, lines: int) -> None:
        self._head_size += size
        self._head_count += lines
        if self._head_size > self.limits.max_header_bytes or self._head_count > self.limits.max_headers:
            self._too_large = True
            raise _HeadersTooLarge

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        # An idle connection is just closed. A request that started hears why, unless an
        # earlier (pipelined) response is still being written: a 408 would cut into it.
        cycle = self.cycle
        if self._phase == "head":
            can_answer = cycle is None or cycle.response_complete
        else:
            can_answer = self._phase == "body" and not self.pipeline and not cycle.response_started
        if can_answer:
            self._reply_and_close(408, "Request not received in time.")
        else:
            self.transport.close()

    def _reply_and_close(self, status: int, msg: str) -> None:
        body = msg.encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                    b"connection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` from the settings, the same for one process or many.

    Forwarded headers are believed only from ``trusted_proxies``: uvicorn's default trusts
    127.0.0.1, so anything reaching the server through a local hop could choose its own
    client address (and rate-limit bucket) with X-Forwarded-For.
    """
    server = settings.server
    limits = ConnectionLimits(server.header_timeout_s, server.body_timeout_s, server.max_header_bytes,
                              server.max_headers)
    trusted = settings.trusted_proxies
    return {
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": ",".join(trusted) if trusted else "",
        # A partial of a module-level class pickles, so uvicorn's spawned workers get it too.
        "http": cast("type[asyncio.Protocol]", functools.partial(BoundedHttpProtocol, limits=limits)),
        "ws": "none",  # Docent has no WebSocket routes
        "timeout_keep_alive": server.keep_alive_s,
        "limit_concurrency": server.max_connections,
        "log_level": settings.log_level.lower(),
        "log_config": None,
        "access_log": False,
        # uvicorn kills a worker that has not answered its supervisor within 5 s; loading the
        # embedder on a busy 2-core host takes longer, and the kill-and-restart loop never ends.
        "timeout_worker_healthcheck": 60,
    }
