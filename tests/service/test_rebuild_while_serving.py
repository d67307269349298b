"""Chat keeps answering from the previous complete index while a rebuild runs.

The rebuild is started through the admin API and runs in the server, on the real
embedder made slower for documents only (so the rebuild lasts a few seconds and the
questions land inside it); queries are embedded at full speed.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.index import open_store
from docent.settings import Settings, StaffKey
from ingest.worker import build_ingestor
from service.app import create_app
from service.runtime import Runtime

ADMIN_KEY = "rebuild-admin-key"
QUESTION = {"message": "What is the default port of a SOCKS5 proxy?"}


class SlowDocuments:
    """The real embedder, 0.5 s slower per document batch text."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.5 * len(texts))
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_chat_answers_from_the_old_index_during_a_rebuild(settings: Settings, mini_corpus: Path,
                                                         embedder: Embedder) -> None:
    import hashlib

    store = open_store(settings, role="ingest")
    try:
        build_ingestor(settings, store, embedder).run(settings.docs_dir, progress=False)
    finally:
        store.close()
    before = (settings.store_dir / "ACTIVE").read_text()
    settings.auth.staff_keys = [StaffKey(name="ops", sha256=hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),
                                         admin=True)]
    settings.llm = settings.llm.model_copy(update={"model": "docent-fake/echo-cite"})
    settings.widget = settings.widget.model_copy(update={"rate_per_minute_ip": 100_000})
    runtime = Runtime.build(settings, embedder=SlowDocuments(embedder), start_watcher=False)
    try:
        with TestClient(create_app(settings, runtime=runtime)) as client:
            admin = {"X-API-Key": ADMIN_KEY}
            started = client.post("/v1/admin/ingest", json={"rebuild": True}, headers=admin)
            assert started.status_code == 202 and started.json()["status"] == "running"
            second = client.post("/v1/admin/ingest", json={}, headers=admin)
            job = client.get("/v1/admin/ingest", headers=admin).json()
            assert second.status_code == 409, (second.json(), job)  # one at a time
            answered = 0
            deadline = time.monotonic() + 300  # a hung rebuild fails the test instead of the suite's timeout
            while client.get("/v1/admin/ingest", headers=admin).json()["status"] == "running":
                assert time.monotonic() < deadline, "the rebuild did not finish within 300 s"
                response = client.post("/v1/chat", json=QUESTION)
                assert response.status_code == 200, response.text
                body = response.json()
                assert body["answerable"] is True and "1080" in body["citations"][0]["snippet"]
                answered += 1
            job = client.get("/v1/admin/ingest", headers=admin).json()
            assert job["status"] == "done", job
            assert job["summary"]["rebuilt"] is True
            assert answered >= 3, "the questions ran while the rebuild was in progress"
            assert (settings.store_dir / "ACTIVE").read_text() != before  # the alias moved
            after = client.post("/v1/chat", json=QUESTION).json()
            assert after["answerable"] is True and "1080" in after["citations"][0]["snippet"]
    finally:
        runtime.close()
