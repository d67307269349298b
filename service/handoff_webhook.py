"""The generic webhook target: a signed JSON POST any helpdesk or automation can receive.

Headers: ``X-Docent-Signature: sha256=<hex HMAC-SHA256 of the raw body with the shared
secret>``, ``Idempotency-Key: <handoff id>`` (the same on every retry of one handoff, so a
receiver that saw it already must not open a second ticket), and ``X-Docent-Event: handoff``.
The receiver may answer with JSON holding ``ticket_id``, ``id`` or ``reference``: that is
shown to the customer; otherwise the handoff's own id is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from service.handoff import Delivered, post


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=`` and the hex HMAC-SHA256 digest."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(handoff_id: str, ticket: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): the ticket with its id, keys sorted, so a retry is byte-identical."""
    return json.dumps({"event": "handoff", "id": handoff_id, **ticket}, sort_keys=True,
                      separators=(",", ":")).encode()


def _reference(response: httpx.Response, handoff_id: str) -> str:
    try:
        data = response.json()
    except ValueError:
        return handoff_id
    if isinstance(data, dict):
        for key in ("ticket_id", "id", "reference"):
            value = data.get(key)
            if isinstance(value, (str, int)) and str(value).strip():
                return str(value)[:128]
    return handoff_id


class WebhookTarget:
    """POST the ticket as signed JSON to one URL."""

    kind = "webhook"

    def __init__(self, url: str, secret: str, *, timeout_s: float = 5.0) -> None:
        self.url, self.secret, self.timeout_s = url, secret, timeout_s

    def deliver(self, handoff_id: str, ticket: dict[str, Any]) -> Delivered:
        """One POST; a 2xx is delivered, anything else raises ``DeliveryFailed``."""
        body = encode(handoff_id, ticket)
        headers = {"Content-Type": "application/json", "X-Docent-Signature": sign(self.secret, body),
                   "Idempotency-Key": handoff_id, "X-Docent-Event": "handoff"}
        response = post(self.url, content=body, headers=headers, timeout_s=self.timeout_s)
        return Delivered(_reference(response, handoff_id))
