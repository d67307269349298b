"""The index store is locked, damaged or unreachable: not ready, 503 + Retry-After, then recovery.

Each test runs the real app over a real store; the faults are real too: another
process holding the embedded store's lock, a collection whose files were damaged,
and a Qdrant URL where nothing listens.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.index import open_store
from docent.settings import Settings
from ingest.worker import build_ingestor
from service.app import create_app
from service.runtime import Runtime

QUESTION = {"message": "What is the default port of a SOCKS5 proxy?"}


def _ingest(settings: Settings, embedder: Embedder) -> None:
    store = open_store(settings, role="ingest")
    try:
        build_ingestor(settings, store, embedder).run(settings.docs_dir, progress=False)
    finally:
        store.close()


@pytest.fixture
def serve(embedder: Embedder) -> Iterator[Callable[[Settings], TestClient]]:
    made: list[tuple[Runtime, TestClient]] = []

    def start(settings: Settings) -> TestClient:
        settings.llm = settings.llm.model_copy(update={"model": "docent-fake/echo-cite", "timeout_s": 5})
        runtime = Runtime.build(settings, embedder=embedder, start_watcher=False)
        client = TestClient(create_app(settings, runtime=runtime))
        client.__enter__()
        made.append((runtime, client))
        return client

    yield start
    for runtime, client in made:
        client.__exit__(None, None, None)
        runtime.close()


def _wait_ready(client: TestClient, within_s: float = 15) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if client.get("/readyz").status_code == 200:
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not ready after {within_s} s: {client.get('/readyz').json()}")


def _assert_unavailable(client: TestClient, says: str, private: str = "/nonexistent-path") -> None:
    """503 + Retry-After saying ``says``; ``private`` (the data dir) never reaches the caller."""
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]
    assert says in ready.json()["checks"]["index"] and private not in ready.text
    for path, body in (("/v1/chat", QUESTION), ("/v1/search", {"query": "SOCKS5 proxy port"})):
        response = client.post(path, json=body)
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] and says in response.json()["detail"]
        assert "Traceback" not in response.text and private not in response.text


def test_locked_store_is_not_ready_then_recovers_when_released(settings: Settings, mini_corpus: Path,
                                                               embedder: Embedder,
                                                               serve: Callable[[Settings], TestClient]) -> None:
    _ingest(settings, embedder)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from docent.index.lock import StoreLock; "
         "lock = StoreLock(Path(sys.argv[1]), 'ingest'); print('held', flush=True); time.sleep(600)",
         str(settings.store_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        client = serve(settings)  # starts anyway: the store is opened when it becomes free
        _assert_unavailable(client, f"in use by ingest (pid {holder.pid})", str(settings.data_dir))
    finally:
        holder.kill()
        holder.wait(timeout=10)
    _wait_ready(client)
    body = client.post("/v1/chat", json=QUESTION).json()
    assert body["answerable"] is True and body["citations"]


def test_damaged_collection_is_not_ready_then_recovers_when_restored(
        settings: Settings, mini_corpus: Path, embedder: Embedder,
        serve: Callable[[Settings], TestClient]) -> None:
    _ingest(settings, embedder)
    active = (settings.store_dir / "ACTIVE").read_text().strip()
    meta = settings.store_dir / "collections" / active / "meta.json"
    good = meta.read_bytes()
    meta.write_bytes(b"\x00garbage{")
    client = serve(settings)
    _assert_unavailable(client, "cannot be opened", str(settings.data_dir))
    meta.write_bytes(good)
    _wait_ready(client)
    assert client.post("/v1/chat", json=QUESTION).json()["answerable"] is True


def test_unreachable_qdrant_server_is_not_ready_with_a_clear_503(settings: Settings,
                                                                 serve: Callable[[Settings], TestClient]) -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.index = settings.index.model_copy(update={"url": f"http://127.0.0.1:{port}", "timeout_s": 2})
    client = serve(settings)
    started = time.monotonic()
    _assert_unavailable(client, "unreachable")
    assert time.monotonic() - started < 20, "each refusal is quick, not a hang"


class RenamedEmbedder:
    """The real embedder under another model's name: same dimension, different vectors."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, "another-384-dim-model", inner.dim

    def embed_documents(self, texts: list[str]) -> object:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def test_index_from_another_embedding_model_is_refused_not_searched(settings: Settings, mini_corpus: Path,
                                                                    embedder: Embedder) -> None:
    """Same-size vectors from another model would return nonsense without any error."""
    _ingest(settings, embedder)
    settings.llm = settings.llm.model_copy(update={"model": "docent-fake/echo-cite"})
    runtime = Runtime.build(settings, embedder=RenamedEmbedder(embedder), start_watcher=False)  # type: ignore[arg-type]
    try:
        with TestClient(create_app(settings, runtime=runtime)) as client:
            _assert_unavailable(client, "rebuild")
    finally:
        runtime.close()
