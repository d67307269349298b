"""Typed dependencies: the runtime built in the lifespan, and the caller's identity."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from docent.errors import DocentError
from docent.schema import Access
from service.runtime import Runtime
from service.widget_tokens import admit_public


class UnauthorizedError(DocentError):
    status_code = 401


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: their access and the scope their conversations live in."""

    access: Access
    scope: str
    staff: bool = False
    admin: bool = False


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Staff API key (internal docs).")
_bearer = HTTPBearer(auto_error=False, description="Widget session token from POST /v1/widget/session.")


def get_caller(request: Request, runtime: RuntimeDep, key: Annotated[str | None, Depends(_api_key)],
               bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """Public callers get public docs (after the widget's origin, token and rate checks);
    a valid staff key adds internal docs for its groups."""
    if not key:
        return Caller(Access.public(), admit_public(request, runtime, bearer.credentials if bearer else None))
    digest = hashlib.sha256(key.encode()).hexdigest()
    for staff in runtime.settings.auth.staff_keys:
        if hmac.compare_digest(staff.sha256, digest):
            access = Access.staff(frozenset(staff.groups), all_groups=staff.admin)
            return Caller(access, f"staff:{staff.name}", staff=True, admin=staff.admin)
    raise UnauthorizedError("Invalid API key.")


CallerDep = Annotated[Caller, Depends(get_caller)]
