"""The answer cache on a real redis-server: shared by workers, invalidated for all, and optional."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.settings import LLMSettings, Settings
from service.app import create_app
from service.runtime import Runtime
from tests.conftest import REPO
from tests.service.conftest import staff_keys
from tests.service.test_answer_cache import PORT_Q, SUPPORT, ask


@pytest.fixture
def two_workers(settings: Settings, mini_corpus: Path, embedder: Embedder,
                redis_server: Any) -> Iterator[tuple[TestClient, TestClient, Runtime]]:
    """Two runtimes (as two API workers would be) over one index, each with its own Redis connection."""
    settings.llm = LLMSettings(model="docent-fake/echo-cite", retries=0, timeout_s=10)
    settings.watch = False
    settings.redis_url = redis_server.url
    settings.auth.staff_keys = staff_keys()
    first = Runtime.build(settings, embedder=embedder, start_watcher=False)
    first.ingest()
    second = Runtime.build(settings, store=first.store, embedder=embedder, start_watcher=False)
    assert first.answer_cache is not None and second.answer_cache is not None
    assert first.answer_cache.backend is not second.answer_cache.backend
    with TestClient(create_app(settings, runtime=first)) as a, TestClient(create_app(settings, runtime=second)) as b:
        yield a, b, first
    second.close()
    first.close()


def test_answer_cache_redis_shared_and_invalidated_across_workers(two_workers: tuple[TestClient, TestClient, Runtime],
                                                                  mini_corpus: Path) -> None:
    """An entry written through one worker is served by the other, and an ingest on the first evicts it for both."""
    a, b, first = two_workers
    assert not ask(a, PORT_Q)["cached"]
    assert ask(b, PORT_Q)["cached"]
    path = mini_corpus / "guide/proxies.md"
    path.write_text(path.read_text().replace("The default port is 1080.", "The default port is 1081."))
    first.ingest()
    assert not ask(b, PORT_Q)["cached"]


def test_answer_cache_redis_eviction_from_another_process(two_workers: tuple[TestClient, TestClient, Runtime],
                                                          redis_server: Any) -> None:
    """Another process evicting a doc's entries over its own connection: this worker misses at once."""
    a, b, _ = two_workers
    ask(a, PORT_Q)
    assert ask(b, PORT_Q)["cached"]
    code = ("import sys; from service.answer_cache_redis import RedisBackend; b = RedisBackend(sys.argv[1]); "
            "print(b.delete(b.ids_for_docs(['guide/proxies.md'])))")
    out = subprocess.run([sys.executable, "-c", code, redis_server.url], cwd=REPO, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "1"
    assert not ask(b, PORT_Q)["cached"]


def test_answer_cache_redis_down_chat_still_answers(two_workers: tuple[TestClient, TestClient, Runtime],
                                                    redis_server: Any) -> None:
    """With Redis down chat answers afresh (no 500), and uses the cache again once Redis is back.

    Staff callers: with Redis down the shared rate limit refuses anonymous ones (429) by design.
    """
    a, _, _ = two_workers
    ask(a, PORT_Q, SUPPORT)
    redis_server.stop()
    try:
        for _ in range(2):
            down = ask(a, PORT_Q, SUPPORT)
            assert down["answerable"] and not down["cached"]
        assert a.get("/v1/console/cache", headers=SUPPORT).status_code == 503
    finally:
        redis_server.start()
    ask(a, PORT_Q, SUPPORT)
    assert ask(a, PORT_Q, SUPPORT)["cached"]
