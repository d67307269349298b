"""Who may call each endpoint, read off the routes' own dependencies.

The level is derived from what a route actually depends on (``require_admin``,
``require_staff``, ``get_caller``), so the declaration cannot drift from the
enforcement. It is published in the OpenAPI schema as ``x-docent-access``, with the
matching security requirement, and the auth-matrix test checks every operation
against it.

- ``open``: no identity at all (health, static assets, pages).
- ``public``: anyone; anonymous and widget callers see public docs only, a staff key
  adds its groups' internal docs.
- ``staff``: a valid staff API key (``X-API-Key``).
- ``admin``: a staff key marked ``admin`` (ingest, evaluation runs, key listing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from service.api.deps import get_caller, require_admin, require_staff

Level = Literal["open", "public", "staff", "admin"]
_NOTE = {
    "open": "No authentication.",
    "public": "Anyone: public docs only, unless an `X-API-Key` staff key adds internal docs.",
    "staff": "Needs a staff API key (`X-API-Key`).",
    "admin": "Needs an admin API key (`X-API-Key` of a key with `admin: true`).",
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def level_of(route: APIRoute) -> Level:
    calls = set(_calls(route.dependant))
    if require_admin in calls:
        return "admin"
    if require_staff in calls:
        return "staff"
    if get_caller in calls:
        return "public"
    return "open"


def declare(app: FastAPI) -> None:
    """Stamp every API route with its access level, in the schema and its description."""
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        level = level_of(route)
        route.openapi_extra = {**(route.openapi_extra or {}), "x-docent-access": level}
        note = f"**Access: {level}.** {_NOTE[level]}"
        route.description = f"{note}\n\n{route.description}" if route.description else note
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI lists both optional schemes of get_caller on every route; staff and
        # admin routes accept only the API key, and open routes none.
        first = app.openapi_schema is None
        schema = generate()
        if first:
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    level = op.get("x-docent-access")
                    if level in ("staff", "admin"):
                        op["security"] = [{"APIKeyHeader": []}]
                    elif level == "open":
                        op.pop("security", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
