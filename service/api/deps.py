"""Typed dependencies: the runtime built in the lifespan, and the caller's identity."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from docent.errors import ForbiddenError, ForgedTokenError, UnauthorizedError
from docent.schema import Access
from service.rate_limit import client_address, enforce
from service.runtime import Runtime
from service.widget_tokens import admit_public


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: their access and the scope their conversations live in."""

    access: Access
    scope: str
    staff: bool = False
    admin: bool = False

    def sees(self, scope: str) -> bool:
        """Whether this caller may see a conversation (or handoff) of ``scope``: an admin sees all,
        staff see customers' and their own, never another staff key's."""
        return self.admin or not scope.startswith("staff:") or scope == self.scope

    @property
    def visible_to(self) -> str | None:
        """The stores' scope filter for this caller (None: an admin sees every conversation)."""
        return None if self.admin else self.scope


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Staff API key (internal docs).")
_bearer = HTTPBearer(auto_error=False, description="Widget session token from POST /v1/widget/session, "
                                                     "or a staff API key (OpenAI and MCP clients).")


PUBLIC_BEARER = "public"
"""``Authorization: Bearer public``: no credentials (OpenAI clients cannot leave the key empty)."""


def _widget_token_shaped(token: str) -> bool:
    # Widget session tokens are "v1.<payload>.<mac>" (service/widget_tokens.py); staff keys are not.
    return token.startswith("v1.") and token.count(".") == 2


def get_caller(request: Request, runtime: RuntimeDep, key: Annotated[str | None, Depends(_api_key)],
               bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """Public callers get public docs (after the widget's origin, token and rate checks);
    a valid staff key adds internal docs for its groups (and has its own rate limit).

    A wrong key or a forged token counts against the caller's address; past
    ``auth.failures_per_minute_ip`` its credentials get 429 without being checked.
    """
    token = bearer.credentials if bearer else None
    if token == PUBLIC_BEARER:
        token = None  # OpenAI clients must send some key: this one asks for the public docs
    elif token and not key and not _widget_token_shaped(token):
        # OpenAI-style clients (and MCP clients) send their key as "Authorization: Bearer".
        key, token = token, None
    address = client_address(request)
    failures = runtime.auth_failures
    if key or token:
        failures.check(address)
    if not key:
        try:
            return Caller(Access.public(), admit_public(request, runtime, token))
        except ForgedTokenError:
            failures.failed(address)
            raise
    digest = hashlib.sha256(key.encode()).hexdigest()
    for staff in runtime.settings.auth.staff_keys:
        if hmac.compare_digest(staff.sha256, digest):
            enforce(runtime.staff_limiter, staff.name, "API key")
            access = Access.staff(frozenset(staff.groups), all_groups=staff.admin)
            return Caller(access, f"staff:{staff.name}", staff=True, admin=staff.admin)
    failures.failed(address)
    raise UnauthorizedError("Invalid API key.")


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_staff(caller: CallerDep) -> Caller:
    """401 unless the request carries a valid staff key."""
    if not caller.staff:
        raise UnauthorizedError("Sign in with a staff API key (X-API-Key).", challenge="X-API-Key")
    return caller


def require_admin(caller: CallerDep) -> Caller:
    """401 without a staff key; 403 for a staff key that is not an admin key."""
    require_staff(caller)
    if not caller.admin:
        raise ForbiddenError("This needs an admin API key.")
    return caller


StaffDep = Annotated[Caller, Depends(require_staff)]
AdminDep = Annotated[Caller, Depends(require_admin)]
