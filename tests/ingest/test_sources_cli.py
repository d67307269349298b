"""`docent sources list` and `docent sources sync NAME [--full]`: help, and clean failures (exit 2, one
message, no traceback). Success paths: tests/ingest/test_sources_service.py::test_cli_sources_list_and_sync."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docent.embedder import Embedder
from docent.settings import Settings
from entrypoints.cli import app as cli_app


def test_cli_sources_help_describes_both_commands() -> None:
    """`--help` works for the group and each command and names NAME, --full and --json."""
    runner = CliRunner()
    group = runner.invoke(cli_app, ["sources", "--help"])
    assert group.exit_code == 0 and "list" in group.output and "sync" in group.output
    sync = runner.invoke(cli_app, ["sources", "sync", "--help"])
    assert sync.exit_code == 0 and "NAME" in sync.output and "--full" in sync.output and "--json" in sync.output
    listed = runner.invoke(cli_app, ["sources", "list", "--help"])
    assert listed.exit_code == 0 and "--json" in listed.output


def test_cli_sources_unknown_or_missing_name_fails_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown name exits 2 naming the configured sources (or saying there are none); no name is a usage error."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    monkeypatch.setenv("DOCENT_SOURCES", "[]")
    none = runner.invoke(cli_app, ["sources", "sync", "docs"])
    assert none.exit_code == 2 and "no source named 'docs'; sources: none configured" in none.output
    assert isinstance(none.exception, SystemExit) and "Traceback" not in none.output
    assert "no sources configured" in runner.invoke(cli_app, ["sources", "list"]).output
    monkeypatch.setenv("DOCENT_SOURCES", json.dumps([{"name": "hb", "location": str(tmp_path)},
                                                     {"name": "site", "kind": "website",
                                                      "location": "https://docs.example.com/"}]))
    unknown = runner.invoke(cli_app, ["sources", "sync", "nope", "--full"])
    assert unknown.exit_code == 2 and "no source named 'nope'; sources: hb, site" in unknown.output
    assert isinstance(unknown.exception, SystemExit) and "Traceback" not in unknown.output
    missing = runner.invoke(cli_app, ["sources", "sync"])
    assert missing.exit_code == 2 and "Missing argument 'NAME'" in missing.output


def test_cli_sources_sync_config_error_is_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       settings: Settings, embedder: Embedder,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A source whose folder is gone: exit 2 and its message, with no traceback logged besides."""
    monkeypatch.setenv("DOCENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DOCENT_SOURCES", json.dumps([{"name": "hb", "location": str(tmp_path / "gone")}]))
    monkeypatch.setattr("docent.embedder.build_embedder", lambda _s: embedder)
    with caplog.at_level(logging.INFO):
        result = CliRunner().invoke(cli_app, ["sources", "sync", "hb"])
    assert result.exit_code == 2, result.output
    assert f"error: source 'hb': folder {tmp_path / 'gone'} does not exist" in result.output
    assert [r for r in caplog.records if r.exc_info] == []
    listed = CliRunner().invoke(cli_app, ["sources", "list", "--json"])
    assert json.loads(listed.output)[0]["errors"] == [f"sync failed: source 'hb': folder {tmp_path / 'gone'} "
                                                      "does not exist"]
