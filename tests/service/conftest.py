"""A real index over docs-corpus (built once per session) and apps over it with scripted models."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings, StaffKey
from service.app import create_app
from service.llm.chat_model import RouterChatModel
from service.runtime import Runtime
from tests.conftest import REPO

STAFF_KEY = "staff-test-key"
SUPPORT_KEY = "support-test-key"


def staff_keys() -> list[StaffKey]:
    import hashlib

    return [StaffKey(name="admin", sha256=hashlib.sha256(STAFF_KEY.encode()).hexdigest(), admin=True),
            StaffKey(name="support", sha256=hashlib.sha256(SUPPORT_KEY.encode()).hexdigest(), groups=["support"])]


@pytest.fixture
def make_runtime(corpus_store: tuple[Path, EdgeStore], embedder: Embedder,
                 tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Build a runtime over the shared index with a given model chain and chat settings."""
    data, store = corpus_store
    made: list[Runtime] = []

    def make(model: str = "docent-fake/echo-cite", fallbacks: list[str] | None = None, timeout_s: float = 10,
             api_base: str | None = None, cache: bool = False, **chat: object) -> Runtime:
        llm = LLMSettings(model=model, fallbacks=fallbacks or [], timeout_s=timeout_s, retries=0, api_base=api_base)
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=REPO / "docs-corpus",  # type: ignore[call-arg]
                            llm=llm, watch=False)
        settings.auth.staff_keys = staff_keys()
        settings.chat = settings.chat.model_copy(update=chat)
        # Off unless asked for: these tests script different replies to one question
        # (tests/service/test_answer_cache*.py test the cache itself).
        settings.cache.enabled = cache
        (tmp_path / "data").mkdir(exist_ok=True)
        runtime = Runtime.build(settings, store=store, embedder=embedder, start_watcher=False)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()  # the shared store is the session's: a store handed to build stays open


@pytest.fixture
def client_for(make_runtime: Callable[..., Runtime]) -> Iterator[Callable[..., TestClient]]:
    """A TestClient over an app with the given model chain."""
    clients: list[TestClient] = []

    def make(**kwargs: object) -> TestClient:
        runtime = make_runtime(**kwargs)
        client = TestClient(create_app(runtime.settings, runtime=runtime))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_for: Callable[..., TestClient]) -> TestClient:
    return client_for()


def replace_model(runtime: Runtime, model: str) -> Runtime:
    settings = runtime.settings
    return dataclasses.replace(runtime, model=RouterChatModel.from_settings(
        LLMSettings(model=model), settings.models_dir))


@contextlib.contextmanager
def scripted_reply(text: str) -> Iterator[None]:
    """Make `docent-fake/reply` answer exactly ``text`` inside the block."""
    from tests.fakes.llm import set_script_reply

    set_script_reply(text)
    try:
        yield
    finally:
        set_script_reply(None)
