"""`docent mcp` over stdio, spawned as a subprocess by the SDK's own client.

A small corpus with public and internal pages is ingested into the test's data dir;
the server runs with the test's settings through the environment. A public session
never sees the internal page's canary; DOCENT_MCP_STAFF_KEY with the right group does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp.client.stdio import StdioServerParameters

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import Settings
from docent.sparse import Bm25Encoder
from ingest.pipeline import Ingestor
from tests.conftest import REPO
from tests.service.mcp_client import Call, over_stdio

CANARY = "CANARY-1234ABCD"  # only in mini_corpus's internal/escalation.md (group "support")
KEY = "dk_stdio_support_key"


@pytest.fixture
def stdio_env(settings: Settings, mini_corpus: Path, embedder: Embedder, models_cache: Path) -> dict[str, str]:
    """The mini corpus ingested into the test's data dir, and the environment a `docent mcp` needs."""
    store = EdgeStore(settings.store_dir, role="test")
    try:
        Ingestor(store, embedder, Bm25Encoder(), settings.data_dir, "/docs").run(mini_corpus, progress=False)
    finally:
        store.close()
    settings.models_dir.parent.mkdir(parents=True, exist_ok=True)
    if not settings.models_dir.exists():
        settings.models_dir.symlink_to(models_cache, target_is_directory=True)  # no second ONNX export
    staff = [{"name": "support", "sha256": hashlib.sha256(KEY.encode()).hexdigest(), "groups": ["support"]}]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DOCENT_", "QDRANT_"))}
    return {**base, "DOCENT_DATA_DIR": str(settings.data_dir), "DOCENT_DOCS_DIR": str(mini_corpus),
            "DOCENT_WATCH": "false", "DOCENT_MODEL": "docent-fake/echo-cite", "DOCENT_LOG_LEVEL": "WARNING",
            "DOCENT_CHAT__VERIFY": "false", "DOCENT_AUTH__STAFF_KEYS": json.dumps(staff),
            "DOCENT_PLUGINS": '["tests.fakes.llm"]', "PYTHONPATH": str(REPO)}


def _params(env: dict[str, str], tmp_path: Path) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "entrypoints.cli", "mcp", "--base-url",
                                                               "https://docs.example.com"], env=env, cwd=tmp_path)


CALLS: list[Call] = [("search_docs", {"query": "escalation bridge on-call engineer", "top_k": 10}),
         ("ask_docs", {"question": "Which bridge do I page the on-call engineer through?"}),
         ("get_page", {"path": "/docs/internal/escalation"})]


def test_mcp_stdio_public_session_never_sees_internal_pages(stdio_env: dict[str, str], tmp_path: Path) -> None:
    """Without DOCENT_MCP_STAFF_KEY: no internal page in search, ask or get_page."""
    tools, (search, ask, page) = over_stdio(_params(stdio_env, tmp_path), CALLS)
    assert tools == ["search_docs", "ask_docs", "get_page"]
    assert search.data["results"] and all(r["url"].startswith("https://docs.example.com/docs/")
                                          for r in search.data["results"])
    assert not [r for r in search.data["results"] if r["doc_path"].startswith("internal/")]
    assert CANARY not in search.text + ask.text + page.text
    assert page.is_error


def test_mcp_stdio_staff_key_reaches_its_groups_internal_pages(stdio_env: dict[str, str], tmp_path: Path) -> None:
    """With a support-group key in DOCENT_MCP_STAFF_KEY the internal page is searched, cited and read."""
    env = {**stdio_env, "DOCENT_MCP_STAFF_KEY": KEY}
    _, (search, ask, page) = over_stdio(_params(env, tmp_path), CALLS)
    assert search.data["results"][0]["doc_path"] == "internal/escalation.md" and CANARY in search.text
    assert ask.data["citations"][0]["url"].startswith("https://docs.example.com/docs/internal/escalation")
    assert not page.is_error and page.text.startswith("# Escalation policy") and CANARY in page.text


def test_mcp_stdio_wrong_staff_key_exits_with_a_message(stdio_env: dict[str, str], tmp_path: Path) -> None:
    """A wrong DOCENT_MCP_STAFF_KEY fails closed at start: exit 2 and a message, not a public session."""
    env = {**stdio_env, "DOCENT_MCP_STAFF_KEY": "dk_wrong"}
    proc = subprocess.run([sys.executable, "-m", "entrypoints.cli", "mcp"], env=env, cwd=tmp_path,
                          input=b"", capture_output=True, timeout=300)
    assert proc.returncode == 2 and b"DOCENT_MCP_STAFF_KEY is not a valid staff key" in proc.stderr
    assert proc.stdout == b""
