"""Handing a conversation to a person: the ticket, and the small interface a helpdesk sits behind.

A ``HandoffTarget`` delivers one ticket and says how it went; it never retries (the
outbox does, ``service/handoff_outbox.py``). Implementations: the signed generic webhook
(``handoff_webhook.py``) and Zendesk's ticket API (``handoff_zendesk.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from docent.settings import HandoffSettings


@dataclass(frozen=True)
class Delivered:
    """The helpdesk accepted the ticket; ``reference`` is what the customer is shown (its ticket number)."""

    reference: str


class DeliveryFailed(Exception):
    """The helpdesk did not take the ticket. ``retryable``: a timeout, 5xx or 429 (try again later);
    otherwise the helpdesk refused it (a 4xx: configuration to fix) and only staff retry it."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class HandoffTarget(Protocol):
    """Where tickets go."""

    kind: str

    def deliver(self, handoff_id: str, ticket: dict[str, Any]) -> Delivered:
        """Send one ticket (``handoff_id`` is its idempotency key); raise ``DeliveryFailed``."""
        ...


def status_failure(status: int, body: str) -> DeliveryFailed:
    """The failure an HTTP status stands for: 408, 429 and 5xx are worth retrying, other codes are not."""
    retryable = status in (408, 425, 429) or status >= 500
    return DeliveryFailed(f"HTTP {status}: {body[:200]}", retryable=retryable)


def post(url: str, *, timeout_s: float, **kwargs: Any) -> httpx.Response:
    """One POST to a helpdesk; a transport error or a non-2xx status raises ``DeliveryFailed``."""
    try:
        response = httpx.post(url, timeout=timeout_s, **kwargs)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300], retryable=True) from None
    if not response.is_success:
        raise status_failure(response.status_code, response.text)
    return response


def ticket_text(ticket: dict[str, Any]) -> str:
    """The ticket as plain text for a helpdesk comment: the customer's note, the question, the
    transcript, the sources looked at, and the links."""
    lines = [f"Customer: {ticket['email']}"]
    if ticket.get("message"):
        lines += ["", "Their message:", str(ticket["message"])]
    lines += ["", f"Question: {ticket['question']}", "", "Transcript:"]
    for turn in ticket["transcript"]:
        who = "Customer" if turn["role"] == "user" else "Docent"
        lines.append(f"{who}: {turn['content']}")
    if ticket["sources"]:
        lines += ["", "Pages Docent looked at:"]
        lines += [f"- {s['title']} ({s['url']})" for s in ticket["sources"]]
    lines.append("")
    if ticket.get("page_url"):
        lines.append(f"Page the customer was on: {ticket['page_url']}")
    if ticket.get("console_url"):
        lines.append(f"Conversation in the Docent console: {ticket['console_url']}")
    return "\n".join(lines)


def check_email(value: str) -> str:
    """A deliverable-looking address (one @, a dotted domain of letters, digits and hyphens), trimmed;
    ValueError with a message otherwise. String code, not a regex: the text is the customer's."""
    email = value.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or len(local) > 64 or any(c.isspace() or ord(c) < 32 or c in '<>()[],;:\\"@' for c in local):
        raise ValueError("is not an email address (name@example.com)")
    labels = domain.split(".")
    if len(labels) < 2 or not all(0 < len(x) <= 63 and x.strip("-") == x and
                                  all(c.isalnum() or c == "-" for c in x) for x in labels):
        raise ValueError("is not an email address: the part after @ must be a domain such as example.com")
    return email


def build_target(settings: HandoffSettings) -> HandoffTarget | None:
    """The configured target, or None when handoff is off (``kind: none``)."""
    if settings.kind == "webhook":
        from service.handoff_webhook import WebhookTarget

        assert settings.url and settings.secret  # checked by HandoffSettings
        return WebhookTarget(settings.url, settings.secret, timeout_s=settings.timeout_s)
    if settings.kind == "zendesk":
        from service.handoff_zendesk import ZendeskTarget

        assert settings.url and settings.zendesk_email and settings.zendesk_token
        return ZendeskTarget(settings.url, settings.zendesk_email, settings.zendesk_token,
                             timeout_s=settings.timeout_s)
    return None
