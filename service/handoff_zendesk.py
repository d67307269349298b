"""Zendesk's ticket API: ``POST {base}/api/v2/tickets.json``, basic auth ``<email>/token:<api token>``.

The handoff id is the ticket's ``external_id`` and the request's ``Idempotency-Key``
(Zendesk honours it on ticket creation), so a retry after a lost response does not open
a second ticket. The customer is shown ``#<ticket id>``.
"""

from __future__ import annotations

from typing import Any

import httpx

from service.handoff import Delivered, post, ticket_text


def zendesk_body(handoff_id: str, ticket: dict[str, Any]) -> dict[str, Any]:
    """The ``{"ticket": {...}}`` document Zendesk's create-ticket call takes."""
    return {"ticket": {"subject": ticket["subject"], "comment": {"body": ticket_text(ticket)},
                       "requester": {"email": ticket["email"]}, "external_id": handoff_id,
                       "tags": ["docent", "handoff"]}}


class ZendeskTarget:
    """Create one Zendesk ticket per handoff."""

    kind = "zendesk"

    def __init__(self, base_url: str, email: str, token: str, *, timeout_s: float = 5.0) -> None:
        self.url = base_url.rstrip("/") + "/api/v2/tickets.json"
        self.auth = httpx.BasicAuth(f"{email}/token", token)
        self.timeout_s = timeout_s

    def deliver(self, handoff_id: str, ticket: dict[str, Any]) -> Delivered:
        """One create-ticket call; 201 gives the ticket number."""
        response = post(self.url, json=zendesk_body(handoff_id, ticket), auth=self.auth,
                        headers={"Idempotency-Key": handoff_id}, timeout_s=self.timeout_s)
        try:
            number = response.json()["ticket"]["id"]
        except (ValueError, KeyError, TypeError):
            return Delivered(handoff_id)
        return Delivered(f"#{number}")
