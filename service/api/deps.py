"""Typed dependencies: the runtime built in the lifespan, and the caller's identity."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from docent.errors import DocentError
from docent.schema import Access
from service.runtime import Runtime


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


def get_caller(runtime: RuntimeDep, key: Annotated[str | None, Depends(_api_key)]) -> Caller:
    """Anonymous callers get public docs; a valid staff key adds internal docs for its groups."""
    if not key:
        return Caller(Access.public(), "public")
    digest = hashlib.sha256(key.encode()).hexdigest()
    for staff in runtime.settings.auth.staff_keys:
        if hmac.compare_digest(staff.sha256, digest):
            access = Access.staff(frozenset(staff.groups), all_groups=staff.admin)
            return Caller(access, f"staff:{staff.name}", staff=True, admin=staff.admin)
    raise UnauthorizedError("Invalid API key.")


CallerDep = Annotated[Caller, Depends(get_caller)]
