"""Swagger UI and ReDoc (CDN scripts on the console's origin) are off unless DOCENT_API_DOCS=true."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from docent.settings import Settings
from service.app import create_app
from service.runtime import Runtime


def test_api_docs_off_by_default_schema_still_served(make_runtime: Callable[..., Runtime]) -> None:
    """/api-docs, its OAuth redirect and /redoc are 404; /openapi.json is served."""
    runtime = make_runtime()
    assert runtime.settings.api_docs is False
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        for path in ("/api-docs", "/api-docs/oauth2-redirect", "/redoc"):
            r = client.get(path)
            assert r.status_code == 404, path
            assert "swagger" not in r.text.lower() and "redoc" not in r.text.lower()
        schema = client.get("/openapi.json")
        assert schema.status_code == 200 and "/v1/chat" in schema.json()["paths"]


def test_api_docs_on_with_setting(make_runtime: Callable[..., Runtime], monkeypatch: pytest.MonkeyPatch) -> None:
    """DOCENT_API_DOCS=true turns on Swagger UI at /api-docs and ReDoc at /redoc."""
    monkeypatch.setenv("DOCENT_API_DOCS", "true")
    assert Settings(_env_file=None).api_docs is True
    runtime = make_runtime()
    runtime.settings = runtime.settings.model_copy(update={"api_docs": True})
    with TestClient(create_app(runtime.settings, runtime=runtime)) as client:
        assert "swagger-ui" in client.get("/api-docs").text
        assert client.get("/redoc").status_code == 200
