"""GET/POST /v1/evals: staff only; history, one run as JSON/HTML/CSV, and starting a run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from eval import api as evals
from eval.settings import EvalSettings
from service.app import create_app
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY, SUPPORT_KEY

STAFF = {"X-API-Key": STAFF_KEY}


@pytest.fixture
def client(
    make_runtime: Callable[..., Runtime], make_eval_settings: Callable[..., EvalSettings]
) -> Iterator[TestClient]:
    runtime = make_runtime()
    app = create_app(runtime.settings, runtime=runtime)
    app.include_router(evals.router)
    app.state.eval_settings = make_eval_settings()
    with TestClient(app) as c:
        yield c


def test_api_evals_routes_reject_non_staff(client: TestClient) -> None:
    """Anonymous callers get 401 on every eval route, as does a wrong key; starting a run needs admin."""
    assert client.get("/v1/evals").status_code == 401
    assert client.get("/v1/evals/latest").status_code == 401
    assert client.post("/v1/evals", json={"subset": "smoke"}).status_code == 401
    support = {"X-API-Key": SUPPORT_KEY}
    assert client.post("/v1/evals", json={"subset": "smoke"}, headers=support).status_code == 403
    assert "staff" in client.get("/v1/evals").json()["detail"]
    assert client.get("/v1/evals", headers={"X-API-Key": "wrong"}).status_code == 401


def test_api_evals_routes_start_and_read_a_run(client: TestClient) -> None:
    """POST starts a background run; it then appears in history and as JSON, HTML and CSV."""
    empty = client.get("/v1/evals", headers=STAFF).json()
    assert empty["runs"] == [] and empty["latest"] is None
    assert client.get("/v1/evals/nope", headers=STAFF).status_code == 404

    started = client.post("/v1/evals", json={"subset": "full", "limit": 2}, headers=STAFF)
    assert started.status_code == 202 and started.json()["status"] == "started"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        listing = client.get("/v1/evals", headers=STAFF).json()
        if listing["runs"] and not listing["running"]:
            break
        time.sleep(0.5)
    latest = listing["latest"]
    assert latest is not None and latest["questions"] == 2 and "faithfulness" in latest["aggregates"]

    run = client.get(f"/v1/evals/{latest['id']}", headers=STAFF).json()
    assert [q["sample"]["id"] for q in run["questions"]] == ["q001", "q004"]
    html = client.get("/v1/evals/latest", params={"format": "html"}, headers=STAFF)
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    table = client.get("/v1/evals/latest", params={"format": "csv"}, headers=STAFF)
    assert table.text.startswith("id,kind,")
