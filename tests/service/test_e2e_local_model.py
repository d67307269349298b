"""End to end with the real local model (SmolLM2-135M through docent-local) and a real server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import REPO
from tests.service.test_chat_api import ANSWERABLE, sse_events

pytestmark = pytest.mark.slow


def test_e2e_local_model_json_answer_has_checked_citations(client_for: Callable[..., TestClient]) -> None:
    """The real small model answers through LiteLLM; every marker left points at a listed citation."""
    client = client_for(model="docent-local/smollm2-135m", timeout_s=120, require_citation=False)
    body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["usage"]["model"] == "docent-local/smollm2-135m"
    assert body["usage"]["completion_tokens"] > 0 and body["usage"]["prompt_tokens"] > 100
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers <= {c["marker"] for c in body["citations"]}


def test_e2e_local_model_streams_tokens(client_for: Callable[..., TestClient]) -> None:
    """Streaming a generated answer from the real model yields verified deltas and a final event."""
    client = client_for(model="docent-local/smollm2-135m", timeout_s=120, require_citation=False,
                        answer_mode="generative")
    events = sse_events(client.post("/v1/chat", json={"message": ANSWERABLE, "stream": True}).text)
    assert events[-1][0] == "final"
    final = events[-1][1]
    streamed = "".join(str(e[1]["text"]) for e in events if e[0] == "delta")
    assert final["answer_mode"] == "generative"
    for withdrawn in final["unsupported_sentences"]:  # never shown, not even for a moment
        assert withdrawn not in streamed


def test_e2e_local_model_extractive_answer_is_source_text(client_for: Callable[..., TestClient]) -> None:
    """The default mode for a small local model: it picks source sentences, shown verbatim and cited."""
    client = client_for(model="docent-local/smollm2-135m", timeout_s=120)
    body = client.post("/v1/chat", json={"message": ANSWERABLE}).json()
    assert body["answer_mode"] == "extractive"
    if body["answerable"]:  # the 135M model may pick nothing; what it picks is the docs' own text
        assert body["grounding"] == 1.0 and body["unsupported_sentences"] == [] and body["citations"]
        snippets = " ".join(c["snippet"] for c in body["citations"])
        first = re.sub(r"\s*\[\d+\]", "", body["answer"].split("\n")[0]).strip(" .-")
        assert first[:40] in snippets or first[:40] in client.post(
            "/v1/search", json={"query": ANSWERABLE, "top_k": 5}).text
    else:
        assert body["abstain_reason"] in {"model_declined", "empty", "model_unavailable"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_e2e_docent_serve_over_real_http(tmp_path: Path) -> None:
    """`docent serve` ingests the docs itself, answers over loopback HTTP, and holds the store lock."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ports.md").write_text("---\ntitle: Ports\n---\n# Ports\n## Status server\n"
                                   "The status server listens on port 7421 on the loopback interface.\n")
    port = _free_port()
    env = {**os.environ, "DOCENT_DATA_DIR": str(tmp_path / "data"), "DOCENT_DOCS_DIR": str(docs),
           "DOCENT_MODEL": "docent-fake/echo-cite", "DOCENT_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        body = None
        while time.monotonic() < deadline:
            try:
                r = httpx.post(f"{base}/v1/chat", json={"message": "Which port does the status server use?"},
                               timeout=30)
                if r.status_code == 200 and r.json()["answerable"]:
                    body = r.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        assert body is not None, "server never answered"
        assert "7421" in body["answer"] and body["citations"][0]["url"].endswith("/docs/ports#status-server")
        # A second writer is refused while the server holds the embedded store.
        refused = subprocess.run([sys.executable, "-m", "entrypoints.cli", "ingest", str(docs)], env=env, cwd=REPO,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and "in use by server" in refused.stderr
        # An edit is picked up by the hosted watcher.
        (docs / "ports.md").write_text((docs / "ports.md").read_text().replace("7421", "7531"))
        deadline = time.monotonic() + 60
        answer = ""
        while time.monotonic() < deadline and "7531" not in answer:
            time.sleep(1)
            answer = httpx.post(f"{base}/v1/chat", json={"message": "Which port does the status server use?"},
                                timeout=30).json()["answer"]
        assert "7531" in answer
    finally:
        proc.terminate()
        proc.wait(30)
    log = (tmp_path / "data" / "ingest" / "changes.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["changed"] == ["ports.md"]
