"""Sources first: the SSE `sources` event and the JSON `sources` field, through the real app and LiteLLM."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.views import snippet
from service.app import create_app
from service.runtime import Runtime
from tests.fakes.llm import register_fake_provider
from tests.service.conftest import STAFF_KEY
from tests.service.live_server import serving
from tests.service.test_chat_api import ANSWERABLE, OFF_TOPIC, sse_events

INTERNAL_Q = "Who must the incident commander inform by phone if a P1 is not resolved within 4 hours?"
SLOW_DELAY_S = 1.5
SOURCE_KEYS = {"n", "chunk_id", "title", "section", "url", "snippet", "doc_path"}


def _stream(client: TestClient, message: str, **headers: str) -> list[tuple[str, dict[str, Any]]]:
    r = client.post("/v1/chat", json={"message": message, "stream": True}, headers=headers)
    assert r.status_code == 200
    return sse_events(r.text)


def test_chat_sse_sends_sources_before_any_delta(client_for: Callable[..., TestClient]) -> None:
    """The stream is meta, sources, delta..., final; the sources equal the final's and hold every citation."""
    client = client_for(model="docent-fake/echo-all")
    events = _stream(client, ANSWERABLE)
    names = [name for name, _ in events]
    assert names[:2] == ["meta", "sources"] and names[-1] == "final" and "delta" in names
    assert names.count("sources") == 1 and set(names[2:-1]) == {"delta"}
    sources, final = events[1][1]["sources"], events[-1][1]
    assert isinstance(sources, list) and sources and sources == final["sources"]
    assert [s["n"] for s in sources] == list(range(1, len(sources) + 1))
    assert all(set(s) == SOURCE_KEYS and "#" in s["url"] and s["title"] and s["snippet"] for s in sources)
    assert all(len(s["snippet"]) <= 202 and not s["snippet"].startswith("#") for s in sources)
    assert {c["chunk_id"] for c in final["citations"]} <= {s["chunk_id"] for s in sources}


def test_chat_sources_are_access_filtered(client: TestClient) -> None:
    """A public caller never sees an internal page among the sources; a staff key does."""
    public = _stream(client, INTERNAL_Q)
    public_paths = [s["doc_path"] for s in public[1][1]["sources"]]
    assert public[1][0] == "sources" and public_paths
    assert not [p for p in public_paths if p.startswith("internal/")]
    assert not [s for s in public[-1][1]["sources"] if s["doc_path"].startswith("internal/")]
    staff = _stream(client, INTERNAL_Q, **{"X-API-Key": STAFF_KEY})
    assert staff[1][0] == "sources" and staff[1][1]["sources"][0]["doc_path"].startswith("internal/")
    assert staff[1][1]["sources"] == staff[-1][1]["sources"]


def test_chat_json_response_carries_sources(client_for: Callable[..., TestClient]) -> None:
    """A JSON caller gets the numbered list in the response; every citation is one of its sources."""
    body = client_for(model="docent-fake/echo-all").post("/v1/chat", json={"message": ANSWERABLE}).json()
    sources = {s["chunk_id"]: s for s in body["sources"]}
    assert [s["n"] for s in body["sources"]] == list(range(1, len(sources) + 1))
    assert all(set(s) == SOURCE_KEYS for s in sources.values()) and body["citations"]
    for cite in body["citations"]:
        source = sources[cite["chunk_id"]]
        assert (source["url"], source["title"], source["doc_path"]) == (cite["url"], cite["title"], cite["doc_path"])


def test_chat_low_similarity_abstention_sends_sources_then_final_at_once(client: TestClient) -> None:
    """An off-topic question abstains without the model: meta, sources (what was searched), final, quickly."""
    handler = register_fake_provider()
    client.post("/v1/chat", json={"message": OFF_TOPIC})  # warm the query path (first embed, SQLite)
    handler.requests.clear()
    started = time.perf_counter()
    events = _stream(client, OFF_TOPIC)
    elapsed = time.perf_counter() - started
    assert [name for name, _ in events] == ["meta", "sources", "final"]
    final = events[-1][1]
    assert final["abstain_reason"] == "low_relevance" and final["sources"] == events[1][1]["sources"]
    assert not handler.requests  # no model call at all
    assert elapsed < 1.0, f"abstention took {elapsed:.3f} s"
    print(f"low-similarity abstention: final after {elapsed * 1000:.0f} ms")


def test_chat_slow_model_still_sends_sources_first(make_runtime: Callable[..., Runtime],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With a model that waits before its first token, `sources` arrive long before the first delta."""
    monkeypatch.setenv("DOCENT_FAKE_DELAY_S", str(SLOW_DELAY_S))
    runtime = make_runtime(model="docent-fake/slow")
    arrived: dict[str, float] = {}
    data: dict[str, Any] = {}
    with serving(create_app(runtime.settings, runtime=runtime)) as url:
        httpx.post(url + "/v1/chat", json={"message": OFF_TOPIC}, timeout=30)  # warm up, without the model
        started = time.perf_counter()
        with httpx.stream("POST", url + "/v1/chat", json={"message": ANSWERABLE, "stream": True},
                          timeout=30) as response:
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name not in arrived:
                    arrived[name] = time.perf_counter() - started
                    data[name] = json.loads(line[6:])
    assert data["sources"]["sources"] == data["final"]["sources"]
    assert list(arrived)[:2] == ["meta", "sources"] and list(arrived)[-1] == "final"
    # Sources come before the model has said anything; every model output comes after its delay.
    first_output = arrived.get("delta", arrived["final"])
    assert arrived["sources"] < SLOW_DELAY_S <= first_output, arrived
    print(f"time to sources {arrived['sources'] * 1000:.0f} ms, first output {first_output * 1000:.0f} ms")


def test_snippet_drops_markup_and_cuts_at_a_word() -> None:
    """Headings, fences, links and emphasis go; long text is cut at a word with an ellipsis."""
    text = "# Proxy\n## SOCKS5\n```ini\n**Store** the `password` in a [file](https://x.example/a) |\n" + "word " * 80
    out = snippet(text)
    assert out.startswith("Store the password in a file word")
    assert "#" not in out and "**" not in out and "](" not in out and "|" not in out
    assert out.endswith(" …") and len(out) <= 202 and not out[:-2].endswith(" ")


def test_snippet_is_linear_on_adversarial_text() -> None:
    """100 KB of unbalanced brackets and markers is cleaned in well under a second."""
    started = time.perf_counter()
    for hostile in ("[" * 100_000, "[a](" * 25_000, "#" * 100_000, "*_`|" * 25_000, " \n" * 50_000):
        snippet(hostile)
    assert time.perf_counter() - started < 0.5


def test_snippet_keeps_punctuation_next_to_code() -> None:
    """Inline code loses its backticks but not its place: no blank before the comma."""
    assert snippet("Each entry has `days`, `start` and **`limit`**: set `DOCENT_CHAT__TOP_K`.") == \
        "Each entry has days, start and limit: set DOCENT_CHAT__TOP_K."
