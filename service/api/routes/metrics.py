"""GET /metrics: Prometheus exposition, open or behind a bearer token (``metrics.token``)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from docent.errors import NotFoundError, UnauthorizedError
from service.observability import ObservabilityDep

router = APIRouter(tags=["ops"])
_bearer = HTTPBearer(auto_error=False, description="The metrics.token setting, when set.")


@router.get("/metrics", summary="Prometheus metrics.", include_in_schema=False)
def metrics(obs: ObservabilityDep,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Response:
    """The exposition text; 404 when metrics are disabled, 401 without the configured token."""
    if obs.metrics is None:
        raise NotFoundError("Metrics are disabled.")
    if obs.metrics_token is not None:
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), obs.metrics_token.encode()):
            raise UnauthorizedError("A valid metrics bearer token is required.", challenge="Bearer")
    body, content_type = obs.metrics.render()
    return Response(body, media_type=content_type)
