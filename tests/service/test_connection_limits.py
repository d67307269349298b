"""`docent serve` bounds connections: idle, slow-header and slow-body ones are closed in time,
oversized or too many headers are refused, and unfinished headers cannot grow its memory.

One real server (a subprocess on a free 127.0.0.1 port) with short deadlines. Every loop
below is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest

from docent.embedder import Embedder
from tests.service.live_server import DocentProcess, docent_serve

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 2.0
KEEP_ALIVE_S = 1
MAX_CONNECTIONS = 100
SLACK_S = 2.0  # scheduling on a loaded 2-core machine


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_cache: Path,
           embedder: Embedder) -> Iterator[DocentProcess]:
    """``embedder`` first, so the shared ONNX export exists before the server links to it."""
    env = {"DOCENT_SERVER__HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
           "DOCENT_SERVER__BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
           "DOCENT_SERVER__KEEP_ALIVE_S": str(KEEP_ALIVE_S),
           "DOCENT_SERVER__MAX_CONNECTIONS": str(MAX_CONNECTIONS)}
    with docent_serve(tmp_path_factory.mktemp("limits"), models_cache, env) as proc:
        yield proc


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def _wait_closed(socks: list[socket.socket], limit_s: float) -> tuple[dict[socket.socket, bytes], float]:
    """Read every socket until the server closes it or ``limit_s`` passes: what each received,
    and how long until the last one was closed (infinity if some never were)."""
    started = time.monotonic()
    received = {s: b"" for s in socks}
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        remaining = len(socks)
        while remaining and time.monotonic() - started < limit_s:
            for key, _ in sel.select(timeout=0.1):
                s = cast(socket.socket, key.fileobj)
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[s] += chunk
                    continue
                sel.unregister(s)
                remaining -= 1
    return received, (time.monotonic() - started if remaining == 0 else float("inf"))


def test_idle_connections_are_closed_after_the_header_timeout(server: DocentProcess) -> None:
    """300 connections that send nothing are all closed within the header timeout; while they are
    open, requests past the connection limit get 503, and afterwards the server answers again."""
    socks = [_connect(server.port) for _ in range(300)]
    try:
        busy = httpx.get(server.url + "/healthz", timeout=5)
        assert busy.status_code == 503  # 300 open connections > max_connections
        received, closed_after = _wait_closed(socks, HEADER_TIMEOUT_S + SLACK_S + 3)
        print(f"300 idle connections: the last closed after {closed_after:.2f} s")
        assert closed_after <= HEADER_TIMEOUT_S + SLACK_S, closed_after
        assert all(data == b"" for data in received.values())  # idle: closed without an answer
    finally:
        for s in socks:
            s.close()
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


def _drip(socks: list[socket.socket], first: bytes, byte: bytes, stop: threading.Event) -> None:
    """Send ``first``, then one byte per 0.2 s on each socket until it is closed or ``stop`` is set."""
    for s in socks:
        s.send(first)
    deadline = time.monotonic() + 20
    while not stop.is_set() and time.monotonic() < deadline:
        time.sleep(0.2)
        for s in socks:
            with contextlib.suppress(OSError):  # closed by the server (or by us)
                s.send(byte)


@pytest.mark.parametrize("what", ["header", "body"])
def test_slow_requests_are_closed_with_408(server: DocentProcess, what: str) -> None:
    """50 connections dripping their headers (or a declared body) a byte at a time are answered 408
    and closed within the timeout, however steadily they send."""
    if what == "header":
        first, timeout = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", HEADER_TIMEOUT_S
    else:
        first = (b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"query\": \"")
        timeout = HEADER_TIMEOUT_S + BODY_TIMEOUT_S  # the connection's clock starts at connect
    socks = [_connect(server.port) for _ in range(50)]
    stop = threading.Event()
    dripper = threading.Thread(target=_drip, args=(socks, first, b"a", stop), daemon=True)
    try:
        dripper.start()
        received, closed_after = _wait_closed(socks, timeout + SLACK_S + 3)
        print(f"50 slow-{what} connections: the last closed after {closed_after:.2f} s")
        assert closed_after <= timeout + SLACK_S, closed_after
        answered = [data for data in received.values() if data]
        assert answered and all(data.startswith(b"HTTP/1.1 408 ") for data in answered)
    finally:
        stop.set()
        dripper.join(5)
        for s in socks:
            s.close()


def test_keep_alive_connection_is_closed_when_idle_after_a_response(server: DocentProcess) -> None:
    """After a complete exchange the connection may idle for keep_alive_s, then it is closed."""
    s = _connect(server.port)
    try:
        s.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received, closed_after = _wait_closed([s], KEEP_ALIVE_S + SLACK_S + 3)
        assert received[s].startswith(b"HTTP/1.1 200 ")
        assert closed_after <= KEEP_ALIVE_S + SLACK_S
    finally:
        s.close()


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def test_oversized_or_too_many_headers_get_431(server: DocentProcess) -> None:
    """A 20 KiB header, or 150 small ones, is refused with 431 and the connection closed;
    ordinary requests (keep-alive and pipelined ones included) are unaffected."""
    big = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    assert _exchange(server.port, big).startswith(b"HTTP/1.1 431 ")
    many = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n"
    assert _exchange(server.port, many).startswith(b"HTTP/1.1 431 ")
    long_target = b"GET /healthz?q=" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert _exchange(server.port, long_target).startswith(b"HTTP/1.1 431 ")
    ok = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fine: " + b"a" * 4000 + b"\r\n\r\n"
    pipelined = ok * 3
    pipelined = pipelined[:-4] + b"\r\nConnection: close\r\n\r\n"
    assert _exchange(server.port, pipelined).count(b"HTTP/1.1 200 ") == 3


def _send_partial_header(port: int, size: int, results: list[str]) -> None:
    """Send up to ``size`` bytes of one unfinished header; record whether the server cut it off."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
            chunk = b"a" * 65536
            deadline = time.monotonic() + 20
            for _ in range(size // len(chunk)):
                if time.monotonic() > deadline:
                    break
                s.sendall(chunk)
            # Everything may fit in the kernel's buffers before the server reads: ask it.
            answer = s.recv(1024)
            results.append("431" if answer.startswith(b"HTTP/1.1 431 ") else f"answer {answer[:20]!r}")
    except TimeoutError:
        results.append("still open")
    except OSError as exc:  # reset or broken pipe: the server refused and closed
        results.append(type(exc).__name__)


def test_unfinished_huge_headers_do_not_grow_memory(server: DocentProcess) -> None:
    """20 connections each trying to send a 5 MB header: all are cut off, and the server's memory
    grows by far less than the 100 MB they tried to park in it."""
    before = server.rss_kib()
    results: list[str] = []
    threads = [threading.Thread(target=_send_partial_header, args=(server.port, 5 * 1024 * 1024, results),
                                daemon=True) for _ in range(20)]
    for t in threads:
        t.start()
    peak = before
    deadline = time.monotonic() + 30
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        peak = max(peak, server.rss_kib())
        time.sleep(0.05)
    for t in threads:
        t.join(5)
    after = server.rss_kib()
    print(f"server RSS before {before} KiB, peak {peak} KiB, after {after} KiB; clients: {sorted(set(results))}")
    assert len(results) == 20 and "still open" not in results, results
    assert peak - before < 20 * 1024, (before, peak)
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


def test_head_is_answered_like_get_without_a_body(server: DocentProcess) -> None:
    """HEAD /healthz over real HTTP: 200, the GET's headers, no body bytes on the wire."""
    get = httpx.get(server.url + "/healthz", timeout=5)
    raw = _exchange(server.port, b"HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == b""
    assert f"content-length: {get.headers['content-length']}".encode() in head.lower()
