"""The leak suite's fixtures: a leaky model over the real docs-corpus index, and what counts as a leak.

The model is ``docent-fake/echo-all`` through the real LiteLLM Router: it repeats every
source it is given, so any internal chunk that reaches a public caller's prompt comes
back in the answer. ``min_similarity=0`` sends every question to the model, and
``top_k=10`` widens what it sees. One app serves the whole module.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.index.base import IndexStore
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings, Site, WidgetSettings
from ingest.documents import Document, read_all
from service.app import create_app
from service.runtime import Runtime
from tests.conftest import REPO
from tests.service.conftest import staff_keys

HERE = Path(__file__).parent
SITE = "leak-suite"
ORIGIN = {"Origin": "http://testserver"}


@dataclass(frozen=True)
class Secrets:
    """Everything a public caller must never receive: canaries, facts, internal titles, paths, URLs."""

    canaries: tuple[str, ...]
    facts: tuple[str, ...]
    titles: tuple[str, ...]
    paths: tuple[str, ...]
    urls: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.canaries + self.facts + self.titles + self.paths + self.urls


def fold(text: str) -> str:
    """What a reader sees: NFKC, case-folded, zero-width characters dropped."""
    return unicodedata.normalize("NFKC", text).casefold().translate(dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060")))


def strings(value: Any) -> Iterator[str]:
    """Every string (keys too) inside parsed JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a Server-Sent Events body."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields.get("event", "message"), json.loads(fields.get("data", "null"))))
    return out


def body_texts(response: Any) -> str:
    """The raw body plus every string decoded from it (JSON or SSE data), so escapes cannot hide text."""
    raw: str = response.text
    parts = [raw]
    kind = response.headers.get("content-type", "")
    try:
        if kind.startswith("application/json"):
            parts.extend(strings(json.loads(raw)))
        elif kind.startswith("text/event-stream"):
            for _, data in sse_events(raw):
                parts.extend(strings(data))
    except ValueError:
        pass
    return "\n".join(parts)


def leaked(secrets: Secrets, response_text: str, asked: str = "") -> list[str]:
    """Secrets in a response that the caller did not write themselves (the question is echoed
    back as ``rewritten_query``, and a caller may name a title it guessed)."""
    hay, mine = fold(response_text), fold(asked)
    return [s for s in secrets.all if fold(s) in hay and fold(s) not in mine]


def corpus_docs(visibility: str) -> list[Document]:
    """docs-corpus pages of one visibility, read as ingest reads them."""
    docs = read_all(REPO / "docs-corpus", "/docs")
    return [d for d in docs if isinstance(d, Document) and d.visibility == visibility]


def internal_docs() -> list[Document]:
    return corpus_docs("internal")


@pytest.fixture(scope="session")
def secrets() -> Secrets:
    data = json.loads((REPO / "eval" / "internal_canaries.json").read_text())
    docs = internal_docs()
    return Secrets(tuple(data["canaries"]), tuple(data["facts"]), tuple(d.title for d in docs),
                   tuple(d.path for d in docs), tuple(d.url for d in docs))


@pytest.fixture(scope="session")
def prompts() -> list[dict[str, str]]:
    lines = (HERE / "adversarial_prompts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def build_runtime(data: Path, store: IndexStore, embedder: Embedder, model: str, database_url: str | None = None,
                  **chat: Any) -> Runtime:
    """A runtime over the shared index: staff keys, one widget site with limits a suite will not hit."""
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(_env_file=None, data_dir=data, docs_dir=REPO / "docs-corpus",
                        llm=LLMSettings(model=model, timeout_s=30, retries=0), watch=False,
                        database_url=database_url)
    settings.auth.staff_keys = staff_keys()
    settings.auth.rate_per_minute_key = 100_000
    settings.auth.failures_per_minute_ip = 100_000
    # Whole sources (no prompt token budget): the hostile text these tests plant must reach the
    # prompt, and their scripted replies quote it.
    settings.chat = settings.chat.model_copy(update={"min_similarity": 0.0, "top_k": 10, "prompt_token_budget": 0,
                                                     **chat})
    settings.widget = WidgetSettings(sites=[Site(site_id=SITE, allowed_origins=["http://testserver"])],
                                     rate_per_minute_token=100_000, rate_per_minute_ip=100_000)
    # Each attack must reach the model: a repeated question answered from the cache would
    # not. The cache's own access boundary is tested in tests/service/test_answer_cache.py.
    settings.cache.enabled = False
    return Runtime.build(settings, store=store, embedder=embedder, start_watcher=False)


@dataclass
class App:
    client: TestClient
    runtime: Runtime

    def widget_headers(self) -> dict[str, str]:
        """A fresh widget session, as the embedded widget on an allowed site gets one."""
        r = self.client.post("/v1/widget/session", json={"site_id": SITE}, headers=ORIGIN)
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}", **ORIGIN}


@pytest.fixture(scope="module")
def app_for(corpus_store: tuple[Path, EdgeStore], embedder: Embedder,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Apps over the shared index, built once per module and model."""
    store = cast(IndexStore, corpus_store[1])  # EdgeStore narrows promote()'s argument
    made: dict[str, App] = {}

    def make(model: str = "docent-fake/echo-all", data_dir: Path | None = None) -> App:
        """``data_dir`` reads another data folder (the session ingest's flags); the database stays in tmp."""
        key = f"{model}|{data_dir}"
        if key not in made:
            tmp = tmp_path_factory.mktemp("security")
            runtime = build_runtime(data_dir or tmp, store, embedder, model,
                                    database_url=f"sqlite:///{tmp / 'docent.db'}")
            client = TestClient(create_app(runtime.settings, runtime=runtime))
            client.__enter__()
            made[key] = App(client, runtime)
        return made[key]

    yield make
    for app in made.values():
        app.client.__exit__(None, None, None)
        app.runtime.conversations.close()
