"""Shared fixtures: offline env first, a real embedder (once per session), temp settings."""

from __future__ import annotations

from docent.offline import ensure_offline

ensure_offline()

import os  # noqa: E402

from docent import plugins  # noqa: E402

# The scripted docent-fake provider is a plugin (tests/fakes/llm.py), loaded like a user's
# own LiteLLM provider: servers that tests start inherit DOCENT_PLUGINS (from the repo root,
# or with it on PYTHONPATH), and tests that build LLMSettings(...) directly find it loaded.
FAKE_PLUGIN = "tests.fakes.llm"
os.environ.setdefault("DOCENT_PLUGINS", f'["{FAKE_PLUGIN}"]')
plugins.load([FAKE_PLUGIN])

import textwrap  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from docent.embedder import Embedder  # noqa: E402
from docent.index.edge import EdgeStore  # noqa: E402
from docent.settings import Settings  # noqa: E402
from docent.sparse import Bm25Encoder  # noqa: E402
from ingest.pipeline import Ingestor  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export per session, shared by every test's settings."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder(models_cache: Path) -> Embedder:
    """The real MiniLM embedder, loaded once."""
    from docent.embedder import SentenceTransformerEmbedder
    from docent.settings import EmbedderSettings

    return SentenceTransformerEmbedder(EmbedderSettings(), models_cache)


@pytest.fixture
def settings(tmp_path: Path, models_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings rooted in tmp_path, with no environment or .env leaking in."""
    for key in ("DOCENT_MODEL", "QDRANT_URL", "QDRANT_API_KEY", "DOCENT_DATA_DIR", "DOCENT_DOCS_DIR"):
        monkeypatch.delenv(key, raising=False)
    docs = tmp_path / "docs"
    docs.mkdir()
    return Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=docs)  # type: ignore[call-arg]


def wait_for(check: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll ``check`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def write(root: Path, rel: str, text: str) -> Path:
    """Write a dedented doc under root."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def mini_corpus(settings: Settings) -> Path:
    """A few public and internal pages exercising headings, tables and code."""
    docs = settings.docs_dir
    write(docs, "guide/proxies.md", """
        ---
        title: Proxies
        visibility: public
        ---
        # Proxies
        Pylon can reach storage through a proxy.
        ## SOCKS5
        Set `proxy.url` to a socks5:// address. The default port is 1080.
        ### Authentication
        Put the password in `proxy.password_file`, never inline.
        ## HTTP proxies
        HTTP proxies honour the NO_PROXY variable.
        """)
    write(docs, "billing/plans.md", """
        ---
        title: Plans
        visibility: public
        ---
        # Plans
        | Plan | Price | Seats |
        |---|---|---|
        | Team | $12 | 25 |
        | Business | $29 | 250 |
        """)
    write(docs, "internal/escalation.md", """
        ---
        title: Escalation policy
        visibility: internal
        groups: [support]
        ---
        # Escalation policy
        Page the on-call engineer through bridge CANARY-1234ABCD after 30 minutes.
        """)
    write(docs, "internal/discounts.md", """
        ---
        title: Discount approvals
        visibility: internal
        ---
        # Discount approvals
        Account managers may approve discounts up to 15 percent without a director.
        """)
    return docs


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory,
                 embedder: Embedder) -> Iterator[tuple[Path, EdgeStore]]:
    """docs-corpus ingested once per session (shared by service, widget and eval tests)."""
    data = tmp_path_factory.mktemp("corpus-data")
    store = EdgeStore(data / "index", role="test-session")
    Ingestor(store, embedder, Bm25Encoder(), data, "/docs").run(REPO / "docs-corpus", progress=False)
    yield data, store
    store.close()


@pytest.fixture
def edge_store(settings: Settings) -> Iterator[object]:
    from docent.index.edge import EdgeStore

    store = EdgeStore(settings.store_dir, role="test")
    yield store
    store.close()

@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real redis-server on a free loopback port (tests/redis_server.py); ``.url``, ``stop()``, ``start()``."""
    from tests import redis_server as rs

    rs.require()
    with rs.running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL server for the module (the compose deployment's conversation store)."""
    from tests.deploy import postgres_server

    if not postgres_server.available():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed")
    pytest.importorskip("psycopg", reason="psycopg[binary] is in the dev extra")
    with postgres_server.running_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url
