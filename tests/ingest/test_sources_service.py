"""Sources in the running service: the embedded scheduler, the eval hook, the admin API and the CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings, SourceSettings, StaffKey
from entrypoints.cli import app as cli_app
from service.app import create_app
from service.runtime import Runtime
from tests.conftest import wait_for, write

ADMIN = "admin-test-key"


def _settings(tmp_path: Path, folder: Path) -> Settings:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                        llm=LLMSettings(model="docent-fake/echo-cite", retries=0),
                        sources=[SourceSettings(name="hb", location=str(folder), schedule_s=0,
                                                url_base="https://hb.example.com/"),
                                 SourceSettings(name="repo", kind="git", schedule_s=0,  # on demand only
                                                location="https://bot:s3cret@git.example.com/docs.git")])
    settings.auth.staff_keys = [StaffKey(name="admin", sha256=hashlib.sha256(ADMIN.encode()).hexdigest(), admin=True)]
    return settings



def test_runtime_syncs_sources_on_schedule_and_fires_eval_hook(tmp_path: Path, edge_store: EdgeStore,
                                                               embedder: Embedder) -> None:
    """Embedded mode: the server syncs a folder source at start and on change, fires the change hook,
    and the admin API reports it."""
    folder = tmp_path / "handbook"
    write(folder, "refunds.md", "# Refunds\n\nRefunds take five business days.\n")
    settings = _settings(tmp_path, folder)
    entries: list[dict[str, Any]] = []
    runtime = Runtime.build(settings, store=edge_store, embedder=embedder, start_watcher=True,
                            on_ingest_change=lambda entry, _rt: entries.append(entry))
    try:
        wait_for(lambda: entries)
        assert entries[0]["added"] == ["hb/refunds.md"]
        write(folder, "limits.md", "# Limits\n\nThe API allows 600 requests a minute.\n")
        wait_for(lambda: len(entries) >= 2)  # the folder is watched: no schedule needed
        assert entries[1]["added"] == ["hb/limits.md"]
        with TestClient(create_app(settings, runtime=runtime)) as client:
            assert client.get("/v1/admin/sources").status_code == 401
            rows = client.get("/v1/admin/sources", headers={"X-API-Key": ADMIN}).json()
        assert [(r["name"], r["kind"], r["failed"]) for r in rows] == [("hb", "folder", 0), ("repo", "git", 0)]
        assert rows[0]["last_sync"] and rows[0]["added"] + rows[0]["unchanged"] >= 1
        assert rows[1]["last_sync"] is None and rows[1]["location"] == "https://git.example.com/docs.git"
    finally:
        runtime.close()


def test_cli_sources_list_and_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                   embedder: Embedder, models_cache: Path) -> None:
    """`docent sources sync NAME` indexes the source; `list` shows its counts; an unknown name fails cleanly."""
    folder = tmp_path / "handbook"
    write(folder, "refunds.md", "# Refunds\n\nRefunds take five business days.\n")
    sources = [{"name": "hb", "location": str(folder)}]
    monkeypatch.setenv("DOCENT_SOURCES", json.dumps(sources))
    monkeypatch.setenv("DOCENT_DATA_DIR", str(settings.data_dir))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.models_dir.symlink_to(models_cache, target_is_directory=True)  # the session's ONNX export
    runner = CliRunner()
    result = runner.invoke(cli_app, ["sources", "sync", "hb", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["added"] == 1
    listed = runner.invoke(cli_app, ["sources", "list"])
    assert "hb" in listed.output and "1 added" in listed.output
    missing = runner.invoke(cli_app, ["sources", "sync", "nope"])
    assert missing.exit_code == 2 and "no source named 'nope'" in missing.output
