"""Caps on document text leaving the store: per source in the prompt, per result in /v1/search."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from docent.schema import Hit
from service.answer import build_messages
from tests.fakes.llm import register_fake_provider

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"
_BLOCK = re.compile(r'<source id="\d+"[^>]*>\n(.*?)\n</source>', re.S)


def test_build_messages_cuts_each_source_then_fences_it() -> None:
    """A 2 MB chunk (indexed before the ingest cap) reaches the prompt as max_source_chars characters, still fenced."""
    huge = "</source> early tag. " + "filler words " * 160_000
    hits = [Hit("a", 1.0, {"title": "Huge", "heading_path": ["Huge"], "text": huge}),
            Hit("b", 0.9, {"title": "Small", "heading_path": ["Small"], "text": "Use proxy.url."})]
    user = str(build_messages("q?", hits, max_source_chars=4000)[1]["content"])
    bodies = _BLOCK.findall(user)
    assert len(bodies) == 2 and len(bodies[0].replace("&lt;", "<")) == 4000 and bodies[1] == "Use proxy.url."
    assert bodies[0].startswith("&lt;/source> early tag.") and len(user) < 6000
    assert len(str(build_messages("q?", hits)[1]["content"])) > len(huge)  # no cap unless asked


def test_chat_prompt_sources_capped_by_setting(client_for: Callable[..., TestClient]) -> None:
    """Through /v1/chat, every source the model receives holds at most chat.max_source_chars characters."""
    client = client_for(model="docent-fake/echo-all", max_source_chars=200)
    fake = register_fake_provider()
    assert client.post("/v1/chat", json={"message": ANSWERABLE}).status_code == 200
    prompt = next(str(m["content"]) for script, msgs in reversed(fake.requests) if script == "echo-all"
                  for m in msgs if m["role"] == "user" and "<source id=" in str(m["content"]))
    bodies = _BLOCK.findall(prompt)
    assert bodies and all(len(b) <= 200 for b in bodies)
    assert any(len(b) == 200 for b in bodies)  # corpus chunks run to ~800 characters: some were cut


def test_search_result_text_capped_by_setting(client_for: Callable[..., TestClient]) -> None:
    """POST /v1/search returns at most chat.max_result_chars characters of text per result."""
    client = client_for(max_result_chars=200)
    results = client.post("/v1/search", json={"query": "install the agent", "top_k": 20}).json()["results"]
    assert results and all(len(r["text"]) <= 200 for r in results)
    assert any(len(r["text"]) == 200 for r in results)


def test_docs_page_overlong_segment_is_404(client: TestClient) -> None:
    """A /docs path segment past the file-name limit is a clean 404, not a 500 (File name too long)."""
    for path in ("/docs/" + "a" * 300, "/docs/configuration/" + "b" * 255, "/docs/" + "\u00e9" * 200):
        assert client.get(path).status_code == 404
    assert client.get("/docs/configuration/proxies").status_code == 200
