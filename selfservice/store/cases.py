"""SQL and rules for contact requests and complaints: references, the status timeline, replies.

A request's life (``requests.status``)::

    received ─► acknowledged ─► in_progress ⇄ waiting_for_customer ─► resolved ─► closed
       (ack email sent)            ▲                                      │           │
                                   └──────── reopened by the customer ◄───┴───────────┘
                                             (within Settings.reopen_days)

Complaints follow ISO 10002: the acknowledgement goes out at once (the request becomes
``acknowledged`` when the outbox has actually sent it), a target response date (``due_at``,
``complaint_target_days``) is set and shown, a complaint still open after it is escalated
once (``escalated_at``, an event, a hook, a mail to ``staff_email``), and closing one asks the
customer how satisfied they are (``requests.satisfaction``, 1–5). Contact requests get the
same timeline with ``contact_target_days``.

Every change writes a ``request_events`` row (the timeline the customer sees, unless
``internal``) in the same transaction as the change and its outbox mail and webhook.
These functions take the connection of a ``Store.write()``; :mod:`.desk` wraps them into the
staff API (``portal.requests``) and the views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..i18n import N_
from ..references import new_reference
from .tables import request_events, requests, utcnow

__all__ = [
    "OPEN_STATUSES",
    "STATUSES",
    "STATUS_LABELS",
    "Event",
    "RequestRecord",
    "TransitionError",
    "add_event",
    "create",
    "fetch",
    "next_statuses",
    "overdue",
    "set_status",
]

STATUSES = ("received", "acknowledged", "in_progress", "waiting_for_customer", "resolved", "closed")
OPEN_STATUSES = frozenset(STATUSES[:4])
# English; shown translated (``translations(locale).gettext(label)``), extracted through N_.
STATUS_LABELS = {
    "received": N_("Received"),
    "acknowledged": N_("Acknowledged"),
    "in_progress": N_("In progress"),
    "waiting_for_customer": N_("Waiting for your reply"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}


def next_statuses(current: str) -> tuple[str, ...]:
    """The statuses staff may move a request to from ``current``: any other, except back to
    "received" (a request cannot become unread; the timeline keeps what happened)."""
    return tuple(s for s in STATUSES if s != current and s != "received")


class TransitionError(ValueError):
    """The change is not allowed from the request's current status; the message says why."""


@dataclass(frozen=True)
class Event:
    created_at: datetime
    kind: str  # status, reply, note, escalation, satisfaction
    author: str  # customer, staff, system
    status: str | None
    body: str
    internal: bool = False


@dataclass
class RequestRecord:
    """One request with its timeline, as the customer and the staff API see it."""

    id: int
    reference: str
    kind: str
    status: str
    topic: str
    subject: str
    message: str
    email: str
    order_ref: str | None
    locale: str
    created_at: datetime
    due_at: datetime | None
    acknowledged_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    escalated_at: datetime | None
    updated_at: datetime | None
    satisfaction: int | None
    assignee: str | None = None  # staff only: never in public() nor on the customer's page
    events: list[Event] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at is not None and now > self.due_at

    def reopen_until(self, reopen_days: int) -> datetime | None:
        """Until when the customer may reopen; None while open or when the window has no length."""
        ended = self.closed_at or self.resolved_at
        if self.is_open or ended is None or reopen_days <= 0:
            return None
        return ended + timedelta(days=reopen_days)

    def public(self) -> dict[str, Any]:
        """The JSON-ready dict hooks and webhooks receive (no internal notes)."""
        data: dict[str, Any] = {}
        for name in ("reference", "kind", "status", "topic", "subject", "message", "email", "order_ref", "locale",
                     "created_at", "due_at", "acknowledged_at", "first_response_at", "resolved_at", "closed_at",
                     "escalated_at", "satisfaction"):
            value = getattr(self, name)
            data[name] = value.isoformat() if isinstance(value, datetime) else value
        return data


async def create(
    conn: AsyncConnection,
    *,
    kind: str,
    topic: str,
    subject: str,
    message: str,
    email: str,
    order_ref: str | None,
    locale: str,
    target_days: int,
    now: datetime | None = None,
    session_hash: str | None = None,
) -> RequestRecord:
    """Insert a new request with a fresh reference (retrying the rare collision).

    ``session_hash`` links it to the suggestion lists its sender saw (the deflection rate)."""
    now = now or utcnow()
    for _ in range(20):
        reference = new_reference(kind)
        taken = (await conn.execute(select(requests.c.id).where(requests.c.reference == reference))).first()
        if taken is None:
            break
    else:  # pragma: no cover - 894 million references per kind
        raise RuntimeError("could not find a free reference")
    values = dict(
        reference=reference, kind=kind, status="received", topic=topic, subject=subject, message=message,
        email=email, order_ref=order_ref, locale=locale, created_at=now, updated_at=now,
        due_at=now + timedelta(days=target_days), session_hash=session_hash,
    )
    request_id = (await conn.execute(insert(requests).values(**values).returning(requests.c.id))).scalar_one()
    await add_event(conn, request_id, "status", "customer", status="received", now=now)
    record = await fetch(conn, reference)
    assert record is not None
    return record


async def add_event(
    conn: AsyncConnection, request_id: int, kind: str, author: str, *, status: str | None = None, body: str = "",
    internal: bool = False, now: datetime | None = None,
) -> None:
    now = now or utcnow()
    await conn.execute(insert(request_events).values(
        request_id=request_id, kind=kind, author=author, status=status, body=body, internal=internal, created_at=now))
    await conn.execute(update(requests).where(requests.c.id == request_id).values(updated_at=now))


async def fetch(conn: AsyncConnection, reference: str, *, email: str | None = None,
                internal: bool = True) -> RequestRecord | None:
    """The request and its timeline; with ``email``, only if it matches (case-insensitive)."""
    query = select(requests).where(requests.c.reference == reference)
    row = (await conn.execute(query)).mappings().one_or_none()
    if row is None or (email is not None and row["email"].lower() != email.strip().lower()):
        return None
    events_query = select(request_events).where(request_events.c.request_id == row["id"])
    if not internal:
        events_query = events_query.where(request_events.c.internal.is_(False))
    events = (await conn.execute(events_query.order_by(request_events.c.created_at, request_events.c.id))).mappings().all()
    record = RequestRecord(**{k: row[k] for k in RequestRecord.__dataclass_fields__ if k != "events"})
    record.events = [Event(e["created_at"], e["kind"], e["author"], e["status"], e["body"], e["internal"]) for e in events]
    return record


async def set_status(
    conn: AsyncConnection, record: RequestRecord, new: str, *, author: str, body: str = "", now: datetime | None = None,
    target_days: int | None = None,
) -> str:
    """Move ``record`` to ``new`` (with the timestamps each status implies); returns the old status.

    ``target_days`` (a reopen) sets a fresh response date.
    """
    if new not in STATUSES:
        raise TransitionError(f"unknown status {new!r}; use one of {', '.join(STATUSES)}")
    now = now or utcnow()
    old = record.status
    values: dict[str, Any] = {"status": new}
    if new == "acknowledged" and record.acknowledged_at is None:
        values["acknowledged_at"] = now
    if new == "resolved":
        values["resolved_at"] = now
    if new == "closed":
        values["closed_at"] = now
        if record.resolved_at is None:
            values["resolved_at"] = now
    if new in OPEN_STATUSES and old not in OPEN_STATUSES:  # reopened
        values.update(resolved_at=None, closed_at=None, escalated_at=None)
    if target_days is not None:
        values["due_at"] = now + timedelta(days=target_days)
    await conn.execute(update(requests).where(requests.c.id == record.id).values(**values))
    await add_event(conn, record.id, "status", author, status=new, body=body, now=now)
    for key, value in values.items():
        setattr(record, key, value)
    return old


async def overdue(conn: AsyncConnection, now: datetime) -> list[str]:
    """References of open requests past their response date and not yet escalated."""
    query = select(requests.c.reference).where(and_(
        requests.c.status.in_(sorted(OPEN_STATUSES)), requests.c.due_at < now, requests.c.escalated_at.is_(None)))
    return list((await conn.execute(query.order_by(requests.c.due_at))).scalars())


async def counts(conn: AsyncConnection) -> Mapping[str, int]:
    """Requests per status (for a staff dashboard or a health page)."""
    rows = (await conn.execute(select(requests.c.status, func.count()).group_by(requests.c.status))).all()
    return {status: int(n) for status, n in rows}
