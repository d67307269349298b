"""The sources admin API: what GET /v1/admin/sources shows, and POST /v1/admin/sources/{name}/sync."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from docent.embedder import Embedder
from docent.index.edge import EdgeStore
from docent.settings import LLMSettings, Settings, SourceSettings, StaffKey
from ingest.sources.state import SyncState, source_dir
from ingest.sources.sync import source_lock
from service.app import create_app
from service.runtime import Runtime
from service.source_syncs import next_sync, shown_location
from tests.conftest import wait_for, write

ADMIN = {"X-API-Key": "admin-test-key"}
SUPPORT = {"X-API-Key": "support-test-key"}
TOKEN_URL = "https://bot:s3cret@git.example.com/docs.git"


def _settings(tmp_path: Path, folder: Path) -> Settings:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", docs_dir=tmp_path / "docs",
                        llm=LLMSettings(model="docent-fake/echo-cite", retries=0),
                        sources=[SourceSettings(name="hb", location=str(folder), schedule_s=0, groups=["support"],
                                                visibility="internal"),
                                 SourceSettings(name="repo", kind="git", schedule_s=0, location=TOKEN_URL)])
    settings.auth.staff_keys = [
        StaffKey(name="admin", sha256=hashlib.sha256(ADMIN["X-API-Key"].encode()).hexdigest(), admin=True),
        StaffKey(name="support", sha256=hashlib.sha256(SUPPORT["X-API-Key"].encode()).hexdigest(), groups=["support"])]
    return settings



@pytest.fixture
def served(tmp_path: Path, edge_store: EdgeStore, embedder: Embedder) -> Iterator[tuple[TestClient, Runtime, Path]]:
    """A server hosting the sources' scheduler (embedded mode) over a fresh index; its folder source synced once."""
    folder = tmp_path / "handbook"
    write(folder, "refunds.md", "# Refunds\n\nRefunds take five business days.\n")
    settings = _settings(tmp_path, folder)
    changes: list[dict[str, Any]] = []
    runtime = Runtime.build(settings, store=edge_store, embedder=embedder, start_watcher=True,
                            on_ingest_change=lambda entry, _rt: changes.append(entry))
    try:
        wait_for(lambda: changes and not source_lock("hb").locked())  # the scheduler syncs folders at start
        with TestClient(create_app(settings, runtime=runtime)) as client:
            yield client, runtime, folder
    finally:
        runtime.close()


def test_sources_sync_refuses_callers_without_admin_key(served: tuple[TestClient, Runtime, Path]) -> None:
    """Anonymous callers get 401 and non-admin staff 403, on the list and on sync; nothing starts."""
    client, runtime, _ = served
    assert client.post("/v1/admin/sources/hb/sync").status_code == 401
    assert client.post("/v1/admin/sources/hb/sync", headers={"X-API-Key": "not-a-key"}).status_code == 401
    assert client.post("/v1/admin/sources/hb/sync", headers=SUPPORT).status_code == 403
    assert client.get("/v1/admin/sources", headers=SUPPORT).status_code == 403
    assert runtime.source_syncs.latest("hb") is None


def test_sources_sync_unknown_name_is_404(served: tuple[TestClient, Runtime, Path]) -> None:
    """A name no source has is a 404 with a safe message, not a 500 or a sync."""
    client, _, _ = served
    response = client.post("/v1/admin/sources/nope/sync", headers=ADMIN)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_sources_sync_conflicts_while_running_then_reports(served: tuple[TestClient, Runtime, Path]) -> None:
    """202 starts a sync through the scheduler; a second request while it runs is 409; the list shows the result."""
    client, runtime, folder = served
    write(folder, "limits.md", "# Limits\n\nThe API allows 600 requests a minute.\n")
    write(folder, "broken.md", "# Broken\n\x00\x00 binary")
    with runtime.watcher.run_lock:  # the scheduler is busy: the API's sync waits on the same lock
        started = client.post("/v1/admin/sources/hb/sync", headers=ADMIN)
        assert started.status_code == 202 and started.json()["status"] == "running"
        again = client.post("/v1/admin/sources/hb/sync", headers=ADMIN)
        assert again.status_code == 409 and "already syncing" in again.json()["detail"]
        listed = client.get("/v1/admin/sources", headers=ADMIN).json()
        assert listed[0]["syncing"] is True
    wait_for(lambda: not runtime.source_syncs.running("hb"))
    rows = {r["name"]: r for r in client.get("/v1/admin/sources", headers=ADMIN).json()}
    hb = rows["hb"]
    assert runtime.source_syncs.latest("hb").status == "done"  # type: ignore[union-attr]
    # The folder watcher may have synced the new files first: then this sync found them unchanged.
    assert (hb["syncing"], hb["added"] + hb["changed"] + hb["unchanged"], hb["failed"]) == (False, 2, 1)
    assert hb["errors"] == ["hb/broken.md: binary content"] and hb["last_sync"] > started.json()["started_at"]
    assert (hb["visibility"], hb["groups"], hb["next_sync"]) == ("internal", ["support"], None)
    assert client.post("/v1/admin/sources/hb/sync", headers=ADMIN).status_code == 202  # free again


def test_sources_sync_conflicts_while_the_scheduler_syncs_it(served: tuple[TestClient, Runtime, Path]) -> None:
    """While the scheduler (or the CLI in this process) syncs a source, the API reports it and refuses another."""
    client, runtime, _ = served
    with source_lock("hb"):  # what the scheduler's sync_source holds while it runs
        assert client.post("/v1/admin/sources/hb/sync", headers=ADMIN).status_code == 409
        assert client.get("/v1/admin/sources", headers=ADMIN).json()[0]["syncing"] is True
    assert runtime.source_syncs.latest("hb") is None
    assert client.get("/v1/admin/sources", headers=ADMIN).json()[0]["syncing"] is False


def test_sources_list_shows_no_credentials(served: tuple[TestClient, Runtime, Path]) -> None:
    """A clone URL's user:token never reaches the API, in the location or in a recorded error."""
    client, runtime, _ = served
    repo = runtime.settings.sources[1]
    state = SyncState("repo", "git", errors=[f"git clone failed: Command '{TOKEN_URL}' timed out"], last_sync=1000.0)
    state.save(source_dir(runtime.settings, repo) / "state.json")
    row = client.get("/v1/admin/sources", headers=ADMIN).json()[1]
    assert "s3cret" not in str(row) and "bot" not in str(row)
    assert row["location"] == "https://git.example.com/docs.git"
    assert row["errors"] == ["git clone failed: Command 'https://git.example.com/docs.git' timed out"]
    assert row["next_sync"] is None  # on demand only


def test_next_sync_follows_the_schedule() -> None:
    """Scheduled sources are next due a schedule after their last sync; folders, on-demand and new ones: unknown."""
    state = SyncState("s", "git", last_sync=1000.0)
    assert next_sync(SourceSettings(name="s", kind="git", location=TOKEN_URL, schedule_s=900), state) == 1900.0
    assert next_sync(SourceSettings(name="s", kind="git", location=TOKEN_URL, schedule_s=0), state) is None
    assert next_sync(SourceSettings(name="s", location="/srv/docs", schedule_s=900), state) is None
    assert next_sync(SourceSettings(name="s", kind="git", location=TOKEN_URL), SyncState("s", "git")) is None


@pytest.mark.parametrize(("location", "shown"), [
    ("https://u:p@host:abc/x.git", "https://host:abc/x.git"),
    ("https://tok@github.com/a.git", "https://github.com/a.git"),
    ("https://docs.example.com/?access_token=abc&page=2", "https://docs.example.com/?access_token=***&page=2"),
    ("git@github.com:org/docs.git", "git@github.com:org/docs.git"),
    ("/srv/manuals", "/srv/manuals"),
])
def test_shown_location_strips_credentials(location: str, shown: str) -> None:
    """User info (even with a malformed port) and secret-looking query values are not shown; the rest is."""
    assert shown_location(location) == shown
