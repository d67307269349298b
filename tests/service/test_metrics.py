"""GET /metrics through the real app: families, closed-set labels, auth, and no leaks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from docent.settings import MetricsSettings
from service.app import create_app
from service.observability.metrics import Metrics, closed, model_label
from service.runtime import Runtime
from tests.conftest import REPO
from tests.service.conftest import STAFF_KEY, scripted_reply

ANSWERABLE = "How do I store the SOCKS5 proxy password in a file?"
OFF_TOPIC = "What is the best recipe for banana bread?"
# In docs-corpus/internal/runbooks/support-triage.md (eval/internal_canaries.json).
CANARY = "CANARY-42D3734D"
CANARY_QUESTION = "What is the internal macro ID of the Triage: first touch macro for Switchyard automation rules?"


def scrape(client: TestClient) -> str:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample (``name`` includes any _total/_count suffix), or None."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def test_metrics_families_after_json_chat(client: TestClient) -> None:
    """After one answered chat, requests, latency, stages, tokens and cost are all exposed."""
    assert client.post("/v1/chat", json={"message": ANSWERABLE}).json()["answerable"] is True
    text = scrape(client)
    assert sample(text, "docent_http_requests_total", route="/v1/chat", method="POST", status="200") == 1
    assert sample(text, "docent_http_request_duration_seconds_count", route="/v1/chat", method="POST") == 1
    assert sample(text, "docent_chat_duration_seconds_count", mode="json", outcome="answered") == 1
    assert sample(text, "docent_chat_answers_total", outcome="answered") == 1
    for stage in ("rewrite", "retrieve", "generate"):
        assert sample(text, "docent_chat_stage_duration_seconds_count", stage=stage) == 1, stage
    assert sample(text, "docent_chat_stage_duration_seconds_count", stage="rerank") == 0
    model = "docent-fake/echo-cite"
    assert (sample(text, "docent_llm_tokens_total", model=model, kind="prompt") or 0) > 0
    assert (sample(text, "docent_llm_tokens_total", model=model, kind="completion") or 0) > 0
    assert sample(text, "docent_llm_cost_usd_total", model=model) == 0
    assert sample(text, "docent_llm_fallbacks_total", model=model) is None


def test_metrics_sse_chat_recorded_with_mode(client: TestClient) -> None:
    """A streamed answer is recorded when its final event is sent, under mode=sse."""
    r = client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True})
    assert "event: final" in r.text
    text = scrape(client)
    assert sample(text, "docent_chat_duration_seconds_count", mode="sse", outcome="answered") == 1
    assert sample(text, "docent_chat_stage_duration_seconds_count", stage="generate") == 1
    assert sample(text, "docent_http_requests_total", route="/v1/chat", method="POST", status="200") == 1


def test_metrics_abstentions_counted_by_reason(client_for: Callable[..., TestClient]) -> None:
    """Each abstention increments its reason: low relevance before the model, a decline after it."""
    client = client_for(model="docent-fake/abstain")
    client.post("/v1/chat", json={"message": OFF_TOPIC})
    client.post("/v1/chat", json={"message": ANSWERABLE})
    client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True})
    text = scrape(client)
    assert sample(text, "docent_chat_abstentions_total", reason="low_relevance") == 1
    assert sample(text, "docent_chat_abstentions_total", reason="model_declined") == 2
    assert sample(text, "docent_chat_abstentions_total", reason="uncited") == 0
    assert sample(text, "docent_chat_answers_total", outcome="abstained") == 3
    # The low-relevance abstention called no model, so it adds no tokens.
    assert sample(text, "docent_chat_stage_duration_seconds_count", stage="generate") == 2


def test_metrics_degraded_and_fallbacks(client_for: Callable[..., TestClient]) -> None:
    """All models down counts a degraded answer; a fallback that answers counts under its model."""
    down = client_for(model="docent-fake/fail", fallbacks=["docent-fake/fail"])
    down.post("/v1/chat", json={"message": ANSWERABLE})
    text = scrape(down)
    assert sample(text, "docent_chat_degraded_total") == 1
    assert sample(text, "docent_chat_abstentions_total", reason="model_unavailable") == 1
    assert sample(text, "docent_chat_duration_seconds_count", mode="json", outcome="degraded") == 1

    saved = client_for(model="docent-fake/fail", fallbacks=["docent-fake/echo-cite"])
    assert saved.post("/v1/chat", json={"message": ANSWERABLE}).json()["usage"]["fallback_used"] is True
    text = scrape(saved)
    assert sample(text, "docent_llm_fallbacks_total", model="docent-fake/echo-cite") == 1
    assert sample(text, "docent_chat_degraded_total") == 0


def test_metrics_feedback_counted_by_rating(client: TestClient) -> None:
    """Feedback increments up or down."""
    body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    ref = {"conversation_id": body["conversation_id"], "message_id": body["message_id"]}
    assert client.post("/v1/feedback", json={**ref, "rating": -1}).status_code == 201
    assert client.post("/v1/feedback", json={**ref, "rating": 1, "comment": "thanks"}).status_code == 201
    assert client.post("/v1/feedback", json={**ref, "rating": -1}).status_code == 201
    text = scrape(client)
    assert sample(text, "docent_feedback_total", rating="down") == 2
    assert sample(text, "docent_feedback_total", rating="up") == 1


def test_metrics_route_labels_are_templates_never_paths(client: TestClient) -> None:
    """A doc page is labelled by its route template and a 404 as unmatched; no raw path appears."""
    client.get("/docs/guides/secret-looking-page-name")
    client.get("/no/such/place-xyzzy")
    client.request("BREW", "/v1/chat")
    text = scrape(client)
    assert sample(text, "docent_http_requests_total", route="/docs/{path:path}", method="GET") == 1
    assert sample(text, "docent_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert sample(text, "docent_http_requests_total", route="/v1/chat", method="other", status="405") == 1
    assert "secret-looking" not in text and "xyzzy" not in text and "BREW" not in text


def test_metrics_internal_canary_never_exposed(client_for: Callable[..., TestClient]) -> None:
    """Neither a staff answer quoting an internal page nor a public question naming a canary reaches /metrics."""
    client = client_for(model="docent-fake/reply")
    with scripted_reply(f"The macro ID is {CANARY} [1]."):
        staff = client.post("/v1/chat", json={"message": CANARY_QUESTION}, headers={"X-API-Key": STAFF_KEY}).json()
        public = client.post("/v1/chat", json={"message": f"What does {CANARY} mean?"}).json()
    # The internal page was retrieved and quoted for staff: the leak risk is real.
    assert staff["answerable"] and CANARY in staff["answer"]
    assert staff["citations"][0]["doc_path"].startswith("internal/")
    assert not [c for c in public["citations"] if c["doc_path"].startswith("internal/")]
    text = scrape(client)
    assert CANARY not in text
    assert "triage" not in text.lower() and "internal/" not in text and "switchyard" not in text.lower()


@pytest.mark.parametrize(("enabled", "token"), [(False, None), (True, "s3cret-metrics")])
def test_metrics_disabled_or_token_protected(make_runtime: Callable[..., Runtime], enabled: bool,
                                             token: str | None) -> None:
    """Disabled is a 404; with a token, a missing or wrong bearer is a 401 and the right one a 200."""
    runtime = make_runtime()
    runtime.settings.metrics = MetricsSettings(enabled=enabled, token=token)
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        if not enabled:
            assert client.get("/metrics").status_code == 404
            assert client.get("/healthz").headers["x-request-id"]  # the middleware still runs
            return
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_model_label_maps_to_configured_models() -> None:
    """Reported model names map onto the configured chain (bare names too); anything else is other."""
    configured = ("openai/gpt-4o-mini", "docent-local/qwen2.5-coder-1.5b")
    assert model_label("openai/gpt-4o-mini", configured) == "openai/gpt-4o-mini"
    assert model_label("gpt-4o-mini", configured) == "openai/gpt-4o-mini"
    assert model_label("attacker-chosen<script>", configured) == "other"
    assert closed("weird_reason", ("uncited",)) == "other" and closed(None, ("uncited",)) == "other"


def test_cost_uses_litellm_price_map_and_free_local_models() -> None:
    """A priced model costs what LiteLLM's bundled map says; local, fake and unknown models cost 0."""
    metrics = Metrics(["openai/gpt-4o-mini"])
    assert metrics.cost_usd("openai/gpt-4o-mini", 1000, 100) > 0
    assert metrics.cost_usd("docent-local/qwen2.5-coder-1.5b", 1000, 100) == 0
    assert metrics.cost_usd("docent-fake/echo-cite", 1000, 100) == 0


WORKER = """
import sys
from service.observability.metrics import Metrics
m = Metrics(["docent-fake/echo-cite"])
if sys.argv[1] == "count":
    m.observe_request("/v1/chat", "POST", 200, 0.2)
    m.observe_feedback(1)
else:
    sys.stdout.write(m.render()[0].decode())
"""


def test_metrics_multiprocess_dir_aggregates_workers(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, /metrics in any worker shows every worker's counts."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes
        subprocess.run([sys.executable, "-c", WORKER, "count"], env=env, cwd=REPO, check=True, timeout=120)
    text = subprocess.run([sys.executable, "-c", WORKER, "render"], env=env, cwd=REPO, check=True, timeout=120,
                          capture_output=True, text=True).stdout
    assert sample(text, "docent_http_requests_total", route="/v1/chat", method="POST", status="200") == 2
    assert sample(text, "docent_feedback_total", rating="up") == 2
