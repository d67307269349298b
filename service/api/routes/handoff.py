"""Handing a conversation to a person: POST /v1/handoff, and the staff view of the outbox."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from docent.errors import InvalidRequestError, NotConfiguredError, NotFoundError, UnknownConversationError
from docent.schema import Access
from service.api.deps import Caller, CallerDep, RuntimeDep, StaffDep
from service.api.schemas import ErrorBody, Text
from service.handoff import check_email
from service.handoff_outbox import HandoffRecord
from service.handoff_ticket import build_ticket

router = APIRouter(tags=["handoff"])
NOT_CONFIGURED = ("Handing a conversation to a person is not configured on this server; "
                  "use the support link instead.")


class HandoffRequest(BaseModel):
    """Hand this conversation to the helpdesk, replying to ``email``."""

    model_config = ConfigDict(extra="forbid")
    conversation_id: Text = Field(max_length=64)
    email: Text = Field(max_length=254, description="Where the helpdesk replies.")
    message: Text | None = Field(None, max_length=2000, description="Anything the customer wants to add.")
    page_url: Text | None = Field(None, max_length=2000, description="The page the customer was on.")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("page_url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value or None


class HandoffResult(BaseModel):
    id: str
    status: Literal["delivered", "pending", "failed"] = Field(
        description="delivered: the helpdesk has the ticket; pending: kept and retried automatically; "
                    "failed: the helpdesk refused it, kept for staff to retry.")
    reference: str = Field(description="The helpdesk's ticket number, or Docent's own reference (H-...).")
    detail: str = Field(description="A sentence to show the customer.")


class HandoffStatus(BaseModel):
    enabled: bool = Field(description="Whether POST /v1/handoff can create tickets on this server.")


_SAY = {
    "delivered": "Your request reached our support team (ticket {ref}). They will reply by email.",
    "pending": "We could not reach our helpdesk just now. Your request is saved as {ref} and will be "
               "sent automatically; no need to send it again.",
    "failed": "Our helpdesk did not accept the request. It is saved as {ref} and our team will follow it up.",
}


def _result(record: HandoffRecord) -> HandoffResult:
    status: Any = record.status
    return HandoffResult(id=record.id, status=status, reference=record.reference,
                         detail=_SAY[record.status].format(ref=record.reference))


@router.get("/v1/handoff", response_model=HandoffStatus)
def handoff_status(runtime: RuntimeDep) -> HandoffStatus:
    """Whether handoff to a person is configured (the widget offers its form only then)."""
    return HandoffStatus(enabled=runtime.handoffs.enabled)


@router.post("/v1/handoff", response_model=HandoffResult, status_code=201,
             responses={202: {"model": HandoffResult, "description": "Kept in the outbox, not delivered yet."},
                        404: {"model": ErrorBody}, 409: {"model": ErrorBody, "description": "No helpdesk configured."},
                        422: {"model": ErrorBody}, 429: {"model": ErrorBody}})
def handoff(body: HandoffRequest, runtime: RuntimeDep, caller: CallerDep) -> Any:
    """Create a helpdesk ticket with this conversation's transcript and the pages Docent looked at.

    201 when the helpdesk took it; 202 when it is kept and will be retried (never lost); 409 when this
    server has no helpdesk configured (the widget then shows its support link instead).
    A public conversation's ticket lists public pages only.
    """
    outbox = runtime.handoffs
    if not outbox.enabled:
        raise NotConfiguredError(NOT_CONFIGURED)
    conv = runtime.conversations.conversation_detail(body.conversation_id)
    if conv is None or conv.scope != caller.scope:
        raise UnknownConversationError("Unknown conversation_id: ask a question first, then hand it off.")
    earlier = outbox.for_conversation(conv.id)
    email = body.email
    for record in earlier:  # the same request again (a double click, a retry): the same handoff
        if record.payload.get("email") == email and record.payload.get("message") == (body.message or None):
            return _respond(record)
    if len(earlier) >= runtime.settings.handoff.max_per_conversation:
        raise InvalidRequestError("This conversation has been handed off as often as allowed; "
                                  "the support team already has it.")
    ticket = build_ticket(conv, access=_audience(caller, conv.scope), store=runtime.store, email=email,
                          message=body.message, page_url=body.page_url,
                          console_base_url=runtime.settings.handoff.console_base_url)
    return _respond(outbox.deliver_now(outbox.add(conv.id, conv.scope, ticket)))


def _audience(caller: Caller, scope: str) -> Access:
    # Only a staff key's own conversation may list internal pages; anything else is public.
    return caller.access if caller.staff and scope == caller.scope else Access.public()


def _respond(record: HandoffRecord) -> JSONResponse:
    return JSONResponse(_result(record).model_dump(), status_code=201 if record.status == "delivered" else 202)


def _row(record: HandoffRecord) -> dict[str, Any]:
    p = record.payload
    return {"id": record.id, "reference": record.reference, "status": record.status, "attempts": record.attempts,
            "last_error": record.last_error, "target": record.target, "created_at": record.created_at,
            "delivered_at": record.delivered_at, "next_attempt_at": record.next_attempt_at,
            "conversation_id": record.conversation_id, "email": p.get("email"),
            "question": str(p.get("question") or "")[:300]}


@router.get("/v1/console/handoffs")
def list_handoffs(caller: StaffDep, runtime: RuntimeDep,
                  status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Handoffs, newest first, with status, attempts and last error; counts per status."""
    records = runtime.handoffs.list(visible_to=caller.visible_to, status=status, limit=limit)
    return {"handoffs": [_row(r) for r in records], "counts": runtime.handoffs.counts(),
            "enabled": runtime.handoffs.enabled}


@router.post("/v1/console/handoffs/{handoff_id}/retry")
def retry_handoff(handoff_id: str, caller: StaffDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Try to deliver one undelivered handoff now (a failed one included)."""
    record = runtime.handoffs.get(handoff_id)
    if record is None or not caller.sees(record.scope):
        raise NotFoundError("No handoff by that id.")
    if not runtime.handoffs.enabled:
        raise NotConfiguredError(NOT_CONFIGURED)
    retried = runtime.handoffs.retry(handoff_id)
    assert retried is not None
    return _row(retried)
