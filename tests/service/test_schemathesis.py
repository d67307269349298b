"""Schemathesis over the app's own OpenAPI schema: no 5xx, and responses match the schema.

A bounded run for CI (a few examples per operation, staff and public callers); the long
run against a live server is ``bench/fuzz.py``. ``POST /v1/evals`` is left out: it starts
an evaluation run with the local judge model.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from entrypoints.asgi import build_app
from service.runtime import Runtime
from tests.service.conftest import STAFF_KEY

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# A few examples per operation keeps the CI run short; derandomized so a failure reproduces.
BOUNDED = settings(max_examples=20, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.data_too_large])


@pytest.fixture
def api_schema(make_runtime: Callable[..., Runtime]) -> schemathesis.BaseSchema:
    """The schema of an app over the shared corpus index with the scripted echo-cite model."""
    runtime = make_runtime()
    # Anonymous calls share a per-address limit (60/min); every generated request comes from one.
    runtime.settings.widget = runtime.settings.widget.model_copy(update={"rate_per_minute_ip": 1_000_000})
    runtime.settings.auth.failures_per_minute_ip = 1_000_000  # generated keys and tokens are mostly wrong
    # build_app, as `docent serve` does: the eval report routes are in the schema too (their
    # runs folder is under the runtime's temporary data dir, so it starts empty).
    return schemathesis.openapi.from_asgi("/openapi.json", build_app(runtime.settings, runtime))


schema = schemathesis.pytest.from_fixture("api_schema").exclude(operation_id="start_v1_evals_post")


@schema.parametrize()
@BOUNDED
def test_api_staff_no_server_error_and_responses_match_schema(case: Case) -> None:
    """With a staff key (internal docs, console, eval reports): no 5xx; responses match their schema."""
    case.call_and_validate(headers={"X-API-Key": STAFF_KEY}, checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_api_public_no_server_error_and_responses_match_schema(case: Case) -> None:
    """As an anonymous public caller: no 5xx; responses match their schema."""
    case.call_and_validate(checks=CHECKS)
