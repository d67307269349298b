"""The /v1/chat contract, JSON and SSE, through the real app with a scripted model via LiteLLM."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.service.conftest import STAFF_KEY, SUPPORT_KEY, scripted_reply

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"
OFF_TOPIC = "What is the best recipe for banana bread?"


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_chat_json_contract(client: TestClient) -> None:
    """A JSON answer has markers, citations with URL#anchor and snippet, usage and latency."""
    r = client.post("/v1/chat", json={"message": ANSWERABLE})
    assert r.status_code == 200
    body = r.json()
    assert body["answerable"] is True and "[1]" in body["answer"]
    cite = body["citations"][0]
    assert cite["marker"] == 1 and "#" in cite["url"] and cite["snippet"] and cite["chunk_id"]
    assert cite["heading_path"][0] == cite["title"]
    assert body["usage"]["model"] == "docent-fake/echo-cite" and body["usage"]["prompt_tokens"] > 0
    assert body["latency_ms"] > 0 and body["conversation_id"] and body["message_id"] >= 1
    assert body["handoff"] is None


def test_chat_sse_streams_deltas_then_final(client_for: Callable[..., TestClient]) -> None:
    """stream=true yields meta, several deltas (one per verified sentence), then a final event with citations."""
    client = client_for(model="docent-fake/echo-all")  # one sentence per source: several to stream
    r = client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    names = [e[0] for e in events]
    assert names[0] == "meta" and names[-1] == "final"
    assert names.count("delta") >= 2
    final = events[-1][1]
    streamed = "".join(str(e[1]["text"]) for e in events if e[0] == "delta")
    # The final text is the streamed one after citation clean-up (no blank before punctuation).
    assert "".join(final["answer"].split()) == "".join(streamed.split()) and final["citations"]


def test_chat_invalid_marker_removed_and_unsupported_withdrawn(client_for: Callable[..., TestClient]) -> None:
    """A marker to a missing source is removed, and a claim no source supports is withdrawn and listed."""
    client = client_for(model="docent-fake/reply")
    with scripted_reply("Store it in proxy.password_file [1]. Also the moon is made of cheese today [9]."):
        body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert "[9]" not in body["answer"] and "moon" not in body["answer"] and len(body["citations"]) == 1
    assert body["unsupported_sentences"] == ["Also the moon is made of cheese today."]
    assert body["answerable"] and body["grounding"] == 0.5


def test_chat_off_topic_abstains_with_handoff_without_model(client: TestClient) -> None:
    """Low retrieval relevance abstains before any model call, with the support handoff."""
    body = client.post("/v1/chat", json={"message": OFF_TOPIC}).json()
    assert body["answerable"] is False and body["citations"] == []
    assert body["abstain_reason"] == "low_relevance" and body["usage"]["completion_tokens"] == 0
    assert body["handoff"]["url"].startswith("mailto:")


def test_chat_model_declines_becomes_abstention(client_for: Callable[..., TestClient]) -> None:
    """A model reply of NOT_IN_DOCS is an abstention, streamed without leaking the sentinel."""
    client = client_for(model="docent-fake/abstain")
    body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answerable"] is False and body["abstain_reason"] == "model_declined"
    events = sse_events(client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True}).text)
    assert not [e for e in events if e[0] == "delta"]
    assert events[-1][1]["answerable"] is False


def test_chat_uncited_answer_is_not_shown_as_fact(client_for: Callable[..., TestClient]) -> None:
    """With require_citation, an answer with no valid marker becomes an abstention."""
    client = client_for(model="docent-fake/reply")
    with scripted_reply("The proxy password goes in the registry."):
        body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answerable"] is False and body["abstain_reason"] == "unsupported"
    assert body["unsupported_sentences"] == ["The proxy password goes in the registry."]


def test_chat_fallback_chain_moves_on_when_primary_fails(client_for: Callable[..., TestClient]) -> None:
    """A failing primary falls back to the next model, and usage says so."""
    client = client_for(model="docent-fake/fail", fallbacks=["docent-fake/echo-cite"])
    body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answerable"] is True
    assert body["usage"]["fallback_used"] is True and body["usage"]["model"] == "docent-fake/echo-cite"


def test_chat_all_models_down_returns_degraded_sources(client_for: Callable[..., TestClient]) -> None:
    """When every model fails the answer is a degraded list of relevant pages, not a 500."""
    client = client_for(model="docent-fake/fail", fallbacks=["docent-fake/fail"])
    r = client.post("/v1/chat", json={"message": ANSWERABLE})
    assert r.status_code == 200
    body = r.json()
    assert body["degraded"] is True and body["answerable"] is False and body["citations"]
    assert body["answer"].startswith("I can't generate an answer right now")
    events = sse_events(client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True}).text)
    assert events[-1][0] == "final" and events[-1][1]["degraded"] is True


def test_chat_follow_up_uses_history(client_for: Callable[..., TestClient]) -> None:
    """A follow-up in the same conversation is rewritten with the earlier question."""
    client = client_for(rewrite="concat")
    first = client.post("/v1/chat", json={"message": "How do I install the Pylon agent on Linux?"}).json()
    second = client.post("/v1/chat", json={"message": "And on Windows?",
                                           "conversation_id": first["conversation_id"]}).json()
    assert second["conversation_id"] == first["conversation_id"]
    assert "install" in second["rewritten_query"].lower() and "windows" in second["rewritten_query"].lower()
    assert any("windows" in " ".join(c["heading_path"]).lower() or "windows" in c["snippet"].lower()
               for c in second["citations"])


def test_chat_unknown_conversation_is_404(client: TestClient) -> None:
    """An unknown conversation id is a clear 404, not a new conversation."""
    r = client.post("/v1/chat", json={"message": ANSWERABLE, "conversation_id": "nope"})
    assert r.status_code == 404 and "conversation_id" in r.json()["detail"]


def test_chat_public_cannot_continue_staff_conversation(client: TestClient) -> None:
    """A staff conversation id is unknown to a public caller."""
    staff = client.post("/v1/chat", json={"message": ANSWERABLE}, headers={"X-API-Key": STAFF_KEY}).json()
    r = client.post("/v1/chat", json={"message": "and?", "conversation_id": staff["conversation_id"]})
    assert r.status_code == 404


def test_chat_bad_input_is_4xx_with_message(client: TestClient) -> None:
    """Non-JSON, wrong types, empty and oversized messages are 422s with a reason."""
    cases = [
        client.post("/v1/chat", content=b"{not json", headers={"content-type": "application/json"}),
        client.post("/v1/chat", json={"message": 42}),
        client.post("/v1/chat", json={"message": ""}),
        client.post("/v1/chat", json={"message": "   "}),
        client.post("/v1/chat", json={"message": "x" * 5000}),
        client.post("/v1/chat", json={"message": "hi", "extra": 1}),
    ]
    for r in cases:
        assert r.status_code == 422, r.text
        assert r.json()["detail"]


def test_search_public_never_returns_internal(client: TestClient) -> None:
    """Public search for an internal page's exact title returns only public docs."""
    for query in ("Escalation policy and on-call rotation", "refund override procedure", "internal pricing exceptions"):
        results = client.post("/v1/search", json={"query": query, "top_k": 10}).json()["results"]
        assert results and not [x for x in results if x["doc_path"].startswith("internal/")]


def test_search_staff_key_reaches_internal_docs(client: TestClient) -> None:
    """A staff key adds internal docs; a group key sees its group's pages; a bad key is 401."""
    q = {"query": "Escalation policy and on-call rotation", "top_k": 5}
    admin = client.post("/v1/search", json=q, headers={"X-API-Key": STAFF_KEY}).json()["results"]
    support = client.post("/v1/search", json=q, headers={"X-API-Key": SUPPORT_KEY}).json()["results"]
    assert admin[0]["doc_path"].startswith("internal/")
    assert support[0]["doc_path"].startswith("internal/")
    assert client.post("/v1/search", json=q, headers={"X-API-Key": "wrong"}).status_code == 401


def test_health_and_ready(client: TestClient) -> None:
    """Liveness is always ok; readiness reports the index and the model."""
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["index"] == "ok"


def test_openapi_documents_v1_routes(client: TestClient) -> None:
    """The OpenAPI schema lists the versioned routes."""
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/chat", "/v1/search", "/healthz", "/readyz", "/v1/feedback"} <= paths.keys()


def test_chat_marker_only_reply_is_abstention(client_for: Callable[..., TestClient]) -> None:
    """A reply that is nothing but a marker is not presented as an answer."""
    client = client_for(model="docent-fake/reply")
    with scripted_reply("[1]"):
        body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answerable"] is False and body["abstain_reason"] == "empty"


def test_chat_unmarked_but_supported_sentence_gets_its_citation(client_for: Callable[..., TestClient]) -> None:
    """A correct answer whose model forgot the markers is cited from the source that supports it;
    an unsupported sentence next to it is withdrawn."""
    # Whole sources: the scripted reply quotes a sentence of the page that a token budget may leave
    # out of the prompt (and the verifier checks against what the model saw).
    client = client_for(model="docent-fake/reply", prompt_token_budget=0)
    reply = ("On Linux the password file must be owned by root:pylon with mode 0640 or stricter, otherwise the "
             "agent refuses to read it. It is also synced to the cloud vault every night.")
    with scripted_reply(reply):
        body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answerable"] is True and body["answer"].count("[1]") == 1
    assert body["citations"][0]["doc_path"] == "configuration/proxies.md"
    assert "0640" in body["citations"][0]["snippet"]
    assert body["unsupported_sentences"] == ["It is also synced to the cloud vault every night."]
    assert "vault" not in body["answer"] and body["uncited_sentences"] == []
