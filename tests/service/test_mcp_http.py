"""The MCP server at /mcp (streamable HTTP) through the SDK's own client, against a real uvicorn server.

Access is the API's: public sessions never see an internal page (search, ask, get_page),
a staff key in Authorization: Bearer or X-API-Key adds its groups' internal pages, and a
wrong key is refused before the SDK sees the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from service.app import create_app
from service.runtime import Runtime
from tests.service.conftest import SUPPORT_KEY
from tests.service.live_server import serve_in_thread
from tests.service.mcp_client import over_http

INTERNAL_TITLE = "Escalation policy and on-call rotation"
INTERNAL_PAGE = "/docs/internal/escalation-policy"
INTERNAL_QUESTION = "Which team handles L2 escalations, and what are the escalation tiers?"
INTERNAL_WORDS = "Agent Reliability"  # in the internal page only


@pytest.fixture
def server(make_runtime: Callable[..., Runtime]) -> Iterator[str]:
    """A real uvicorn server over the shared corpus index with the echo-cite model; yields its URL."""
    # Grounding off: these tests are about the interface, not the verifier (tests/service/test_grounding.py).
    runtime = make_runtime(verify=False)
    with serve_in_thread(create_app(runtime.settings, runtime=runtime), runtime.settings) as url:
        yield url


def test_mcp_http_lists_the_three_tools_and_links_absolute_urls(server: str) -> None:
    """tools/list names search_docs, ask_docs, get_page; results carry title, section, absolute URL, text."""
    tools, (found, page, by_md) = over_http(f"{server}/mcp", [
        ("search_docs", {"query": "SOCKS5 proxy password file", "top_k": 3}),
        ("get_page", {"path": f"{server}/docs/getting-started/quickstart#anything"}),
        ("get_page", {"path": "/docs/getting-started/quickstart.md"}),
    ])
    assert tools == ["search_docs", "ask_docs", "get_page"]
    results = found.data["results"]
    assert not found.is_error and len(results) == 3
    # Relative doc URLs are made absolute; a page's own front-matter url is kept.
    assert all(r["url"].startswith(("https://docs.pylon.example/", f"{server}/docs/")) for r in results)
    assert all(r["title"] and r["text"] for r in results)
    assert any(" > " in r["section"] for r in results)
    assert not page.is_error and page.text.startswith("# ") and page.text == by_md.text


def test_mcp_http_public_session_never_sees_internal_pages(server: str) -> None:
    """Without a key: search for internal titles, ask an internal question, read an internal page: nothing internal."""
    _, (search, ask, page, missing) = over_http(f"{server}/mcp", [
        ("search_docs", {"query": INTERNAL_TITLE, "top_k": 20}),
        ("ask_docs", {"question": INTERNAL_QUESTION}),
        ("get_page", {"path": INTERNAL_PAGE}),
        ("get_page", {"path": "/docs/no/such/page"}),
    ])
    assert search.data["results"] and not [r for r in search.data["results"] if "/internal/" in r["url"]]
    assert INTERNAL_WORDS not in ask.text
    assert not [c for c in ask.data["citations"] if "/internal/" in c["url"]]
    assert page.is_error and INTERNAL_WORDS not in page.text
    assert missing.is_error and missing.text == page.text  # missing and internal look the same


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_mcp_http_staff_key_reaches_internal_pages(server: str, header: str) -> None:
    """A staff key (Bearer or X-API-Key) adds its groups' internal pages to search, ask and get_page."""
    value = f"Bearer {SUPPORT_KEY}" if header == "Authorization" else SUPPORT_KEY
    _, (search, ask, page) = over_http(f"{server}/mcp", [
        ("search_docs", {"query": INTERNAL_TITLE, "top_k": 5}),
        ("ask_docs", {"question": INTERNAL_QUESTION}),
        ("get_page", {"path": INTERNAL_PAGE}),
    ], headers={header: value})
    assert search.data["results"][0]["url"].startswith(f"{server}{INTERNAL_PAGE}")
    assert ask.data["answerable"] and any("/internal/" in c["url"] for c in ask.data["citations"])
    assert not page.is_error and page.text.startswith(f"# {INTERNAL_TITLE}") and INTERNAL_WORDS in page.text


def test_mcp_http_wrong_key_is_refused_before_the_protocol(server: str) -> None:
    """A wrong key is a 401 with the API's error body; the SDK client cannot open a session with it."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}
    accept = {"Accept": "application/json, text/event-stream"}
    refused = httpx.post(f"{server}/mcp", json=init, headers={**accept, "Authorization": "Bearer dk_wrong"})
    assert refused.status_code == 401 and refused.json() == {"detail": "Invalid API key."}
    assert httpx.post(f"{server}/mcp", json=init, headers=accept).status_code == 200
    with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the HTTP error in its own exception group
        over_http(f"{server}/mcp", [], headers={"X-API-Key": "dk_wrong"})
