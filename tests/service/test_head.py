"""HEAD works wherever GET does (uptime checkers use it): same status and headers, no body."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import SUPPORT_KEY

GET_ROUTES = ["/healthz", "/readyz", "/", "/docs", "/docs/faq", "/static/docs.css", "/widget.js",
              "/openapi.json", "/metrics"]


@pytest.mark.parametrize("path", GET_ROUTES)
def test_head_matches_get_without_body(client: TestClient, path: str) -> None:
    """Each GET route answers HEAD with the GET's status, type and length, and an empty body."""
    get = client.get(path)
    head = client.head(path)
    assert get.status_code == 200, (path, get.status_code)
    assert head.status_code == get.status_code and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    if path != "/metrics":  # its counters move between the two requests
        assert head.headers.get("content-length") == get.headers.get("content-length")


def test_head_keeps_access_checks_and_405(client: TestClient) -> None:
    """HEAD is the GET's request: a staff route still needs the key; a POST-only route stays 405."""
    assert client.head("/v1/console/me").status_code == 401
    assert client.head("/v1/console/me", headers={"X-API-Key": SUPPORT_KEY}).status_code == 200
    assert client.head("/v1/chat").status_code == 405
    assert client.head("/no/such/page").status_code == 404


def test_head_is_logged_as_head_with_the_route(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """The access log keeps the method HEAD and names the matched route template."""
    with caplog.at_level(logging.INFO, logger="docent.access"):
        client.head("/docs/faq")
    lines = [r for r in caplog.records if r.name == "docent.access"]
    assert lines and getattr(lines[-1], "method", None) == "HEAD"
    assert getattr(lines[-1], "route", None) == "/docs/{path:path}"
