"""The handoff outbox: every handoff is stored before it is sent, and stays until it is delivered.

A handoff is tried a few times while the customer waits (exponential backoff, bounded by
``handoff.inline_attempts``); if the helpdesk still does not take it, the row stays
``pending`` and a background thread in the server retries it, backing off up to an hour,
until it is delivered. A helpdesk that refuses a ticket (a 4xx: wrong token, bad URL)
marks it ``failed``: it is not retried on its own, but staff see it in the console
(GET /v1/console/handoffs) and retry it there once the configuration is fixed.

Attempts are claimed with a conditional UPDATE, so several API workers sharing one
database never send the same handoff at once; the idempotency key (the handoff id)
covers a response lost on the way back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, or_, select, true, update
from sqlalchemy.engine import Engine

from docent.settings import HandoffSettings
from service.conversation_tables import handoffs
from service.handoff import DeliveryFailed, HandoffTarget

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 3600.0
LEASE_S = 120.0  # a claimed attempt is someone else's for this long (longer than any timeout)


@dataclass(frozen=True)
class HandoffRecord:
    """One handoff as the outbox holds it."""

    id: str
    conversation_id: str
    scope: str
    target: str
    status: str  # pending, delivered or failed
    attempts: int
    last_error: str | None
    ticket_ref: str | None
    next_attempt_at: float | None
    created_at: float
    delivered_at: float | None
    payload: dict[str, Any]

    @property
    def reference(self) -> str:
        """What the customer is told: the helpdesk's ticket number, else Docent's own short reference."""
        return self.ticket_ref or "H-" + self.id[:8]


def _record(row: Any) -> HandoffRecord:
    return HandoffRecord(id=row.id, conversation_id=row.conversation_id, scope=row.scope, target=row.target,
                         status=row.status, attempts=row.attempts, last_error=row.last_error,
                         ticket_ref=row.ticket_ref, next_attempt_at=row.next_attempt_at, created_at=row.created_at,
                         delivered_at=row.delivered_at, payload=dict(row.payload or {}))


class HandoffOutbox:
    """Store, send and re-send handoffs through one target."""

    def __init__(self, engine: Engine, target: HandoffTarget | None, settings: HandoffSettings, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine, self.target, self.settings = engine, target, settings
        self.clock, self.sleep = clock, sleep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.target is not None

    def add(self, conversation_id: str, scope: str, ticket: dict[str, Any]) -> str:
        """Store a new handoff (pending, due now) and return its id."""
        hid = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(insert(handoffs).values(
                id=hid, conversation_id=conversation_id, scope=scope, target=self.settings.kind, payload=ticket,
                status="pending", attempts=0, next_attempt_at=self.clock(), created_at=self.clock()))
        return hid

    def get(self, hid: str) -> HandoffRecord | None:
        if len(hid) > 64 or "\x00" in hid:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == hid)).first()
        return _record(row) if row is not None else None

    def for_conversation(self, conversation_id: str) -> list[HandoffRecord]:
        """The conversation's handoffs, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(handoffs).where(handoffs.c.conversation_id == conversation_id)
                                .order_by(handoffs.c.created_at)).all()
        return [_record(r) for r in rows]

    def list(self, *, visible_to: str | None, status: str | None, limit: int) -> list[HandoffRecord]:
        """The newest handoffs; ``visible_to`` as in the console (None: every scope)."""
        query = select(handoffs).order_by(handoffs.c.created_at.desc()).limit(limit)
        if visible_to is not None:
            query = query.where(or_(~handoffs.c.scope.startswith("staff:"), handoffs.c.scope == visible_to))
        if status is not None:
            query = query.where(handoffs.c.status == status)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).all()]

    def counts(self) -> dict[str, int]:
        """How many handoffs are in each status."""
        with self.engine.connect() as conn:
            return {s: int(n) for s, n in conn.execute(
                select(handoffs.c.status, func.count()).group_by(handoffs.c.status))}

    # --- sending ---------------------------------------------------------------------

    def _claim(self, hid: str, now: float, *, forced: bool) -> dict[str, Any] | None:
        """Take the right to attempt ``hid`` now; None when it is delivered, not due, or claimed elsewhere."""
        # Staff may force any undelivered handoff, even one another worker is sending right now:
        # the idempotency key keeps that from opening a second ticket.
        due = true() if forced else (handoffs.c.status == "pending") & (handoffs.c.next_attempt_at <= now)
        with self.engine.begin() as conn:
            claimed = conn.execute(update(handoffs).where(handoffs.c.id == hid, handoffs.c.status != "delivered", due)
                                   .values(next_attempt_at=now + LEASE_S, status="pending")).rowcount
            if claimed != 1:
                return None
            row = conn.execute(select(handoffs.c.payload, handoffs.c.attempts).where(handoffs.c.id == hid)).one()
        return {"payload": dict(row.payload), "attempts": int(row.attempts)}

    def _attempt(self, hid: str, claim: dict[str, Any], *, tries: int) -> None:
        """Up to ``tries`` deliveries with exponential backoff between them; the row records the outcome."""
        assert self.target is not None
        attempts, error, retryable = claim["attempts"], "", True
        for n in range(tries):
            if n:
                self.sleep(self.settings.backoff_s * 2 ** (n - 1))
            attempts += 1
            try:
                done = self.target.deliver(hid, claim["payload"])
            except DeliveryFailed as exc:
                error, retryable = str(exc), exc.retryable
                log.warning("handoff %s attempt %d failed: %s", hid, attempts, error)
                if not retryable:
                    break
                continue
            with self.engine.begin() as conn:
                conn.execute(update(handoffs).where(handoffs.c.id == hid).values(
                    status="delivered", attempts=attempts, ticket_ref=done.reference, delivered_at=self.clock(),
                    next_attempt_at=None, last_error=None))
            return
        later = min(MAX_BACKOFF_S, self.settings.retry_interval_s * 2 ** max(0, attempts - tries))
        with self.engine.begin() as conn:
            conn.execute(update(handoffs).where(handoffs.c.id == hid).values(
                status="pending" if retryable else "failed", attempts=attempts, last_error=error[:1000],
                next_attempt_at=self.clock() + later if retryable else None))

    def deliver_now(self, hid: str) -> HandoffRecord:
        """Send a new handoff while the customer waits (the quick tries); return how it stands."""
        claim = self._claim(hid, self.clock(), forced=False)
        if claim is not None and self.target is not None:
            self._attempt(hid, claim, tries=self.settings.inline_attempts)
        record = self.get(hid)
        assert record is not None
        return record

    def retry(self, hid: str) -> HandoffRecord | None:
        """Staff asked: one attempt now, even for a ``failed`` handoff or one not yet due. None: no such id."""
        if self.get(hid) is None:
            return None
        claim = self._claim(hid, self.clock(), forced=True) if self.target is not None else None
        if claim is not None:
            self._attempt(hid, claim, tries=1)
        return self.get(hid)

    def retry_due(self, limit: int = 50) -> int:
        """One attempt for each pending handoff that is due (the background task's pass); returns how many."""
        if self.target is None:
            return 0
        now = self.clock()
        with self.engine.connect() as conn:
            due = conn.execute(select(handoffs.c.id).where(handoffs.c.status == "pending",
                                                           handoffs.c.next_attempt_at <= now)
                               .order_by(handoffs.c.next_attempt_at).limit(limit)).scalars().all()
        tried = 0
        for hid in due:
            claim = self._claim(hid, now, forced=False)
            if claim is not None:
                self._attempt(hid, claim, tries=1)
                tried += 1
        return tried

    # --- the background task -----------------------------------------------------------

    def start_background(self) -> None:
        """Retry due handoffs every ``retry_interval_s`` in a daemon thread (no-op when off or running)."""
        if self.target is None or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="handoff-outbox", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.retry_interval_s):
            try:
                self.retry_due()
            except Exception:  # the loop must outlive a database hiccup; the next pass tries again
                log.exception("handoff outbox pass failed")

    def stop_background(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=10)
