"""SQL for the staff inbox: the filtered, paged list of requests, and the staff audit trail.

The inbox is a queue, so its default order is "most urgent first": open requests before
closed ones, then the earliest response date (overdue ones lead), then the oldest. The
filters map onto the ``requests`` indexes: status and overdue use ``(status, due_at)``,
assignee uses ``(assignee, status, due_at)`` (migration 0005), kind uses ``(kind,
created_at)``, "newest first" uses ``created_at``. Topic and the text filter (a substring of
the subject or email, which no B-tree index can serve) narrow what those return.

Staff actions are written to ``audit_log`` (:func:`audit`) in the same transaction as the
change they record, so the log never claims a change that rolled back, nor misses one that
committed. A refused action is logged in a write of its own. ``details`` holds statuses,
assignees and sizes — never the text of a reply or note (that is the customer's personal
data, deleted with the request; the audit log is kept).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .cases import OPEN_STATUSES, STATUSES
from .tables import audit_log, requests, utcnow

__all__ = ["ACTIONS", "SORTS", "InboxFilter", "InboxPage", "InboxRow", "assignees", "audit", "inbox"]

SORTS = ("urgent", "newest", "updated")
ACTIONS = frozenset({"request.reply", "request.status", "request.assign", "request.note"})


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows. ``status``: ``"open"``, ``"any"`` or one status; ``assignee``:
    ``None`` (anyone), ``""`` (unassigned) or a name; ``text`` matches the reference, the
    subject or the email address (case-insensitive)."""

    status: str = "open"
    kind: str | None = None
    topic: str | None = None
    overdue: bool = False
    assignee: str | None = None
    text: str = ""
    sort: str = "urgent"
    page: int = 1
    per_page: int = 25

    def __post_init__(self) -> None:
        if self.status not in ("open", "any", *STATUSES):
            raise ValueError(f"status must be open, any or one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.kind not in (None, "contact", "complaint"):
            raise ValueError(f"kind must be contact or complaint, not {self.kind!r}")
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {self.sort!r}")
        if self.page < 1 or not 1 <= self.per_page <= 200:
            raise ValueError("page starts at 1 and per_page is 1 to 200")


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox (no message text: the list never needs it)."""

    reference: str
    kind: str
    status: str
    topic: str
    subject: str
    email: str
    created_at: datetime
    updated_at: datetime | None
    due_at: datetime | None
    escalated_at: datetime | None
    assignee: str | None

    def overdue(self, now: datetime) -> bool:
        return self.status in OPEN_STATUSES and self.due_at is not None and now > self.due_at


@dataclass(frozen=True)
class InboxPage:
    """One page of matching rows, how many match in all, and the status counts of the whole desk."""

    rows: list[InboxRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]
    overdue: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _conditions(f: InboxFilter, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.status == "open" or f.overdue:
        where.append(requests.c.status.in_(sorted(OPEN_STATUSES)))
    if f.status not in ("open", "any"):
        where.append(requests.c.status == f.status)
    if f.overdue:
        where.append(requests.c.due_at < now)
    if f.kind:
        where.append(requests.c.kind == f.kind)
    if f.topic:
        where.append(requests.c.topic == f.topic)
    if f.assignee == "":
        where.append(requests.c.assignee.is_(None))
    elif f.assignee is not None:
        where.append(requests.c.assignee == f.assignee)
    text = f.text.strip().lower()
    if text:
        where.append(or_(
            func.lower(requests.c.reference) == text.replace(" ", ""),
            func.lower(requests.c.subject).contains(text, autoescape=True),
            func.lower(requests.c.email).contains(text, autoescape=True),
        ))
    return where


def _order(sort: str) -> list[Any]:
    if sort == "newest":
        return [requests.c.created_at.desc(), requests.c.id.desc()]
    if sort == "updated":
        return [requests.c.updated_at.desc(), requests.c.id.desc()]
    closed_last = case((requests.c.status.in_(sorted(OPEN_STATUSES)), 0), else_=1)
    no_date_last = case((requests.c.due_at.is_(None), 1), else_=0)
    return [closed_last, no_date_last, requests.c.due_at, requests.c.created_at, requests.c.id]


async def inbox(conn: AsyncConnection, f: InboxFilter, now: datetime) -> InboxPage:
    """The requests matching ``f``, one page of them, plus counts for the inbox header."""
    conditions = _conditions(f, now)
    where = and_(*conditions) if conditions else None
    columns = [requests.c[name] for name in InboxRow.__dataclass_fields__]
    query = select(*columns)
    total_query = select(func.count()).select_from(requests)
    if where is not None:
        query, total_query = query.where(where), total_query.where(where)
    total = int((await conn.execute(total_query)).scalar_one())
    found = (await conn.execute(
        query.order_by(*_order(f.sort)).limit(f.per_page).offset((f.page - 1) * f.per_page))).mappings().all()
    rows = [InboxRow(**dict(r)) for r in found]
    counted = (await conn.execute(select(requests.c.status, func.count()).group_by(requests.c.status))).all()
    overdue = (await conn.execute(select(func.count()).select_from(requests).where(
        requests.c.status.in_(sorted(OPEN_STATUSES)), requests.c.due_at < now))).scalar_one()
    return InboxPage(rows, total, f.page, f.per_page, {s: int(n) for s, n in counted}, int(overdue))


async def assignees(conn: AsyncConnection, limit: int = 100) -> list[str]:
    """Names requests are assigned to now, for the inbox's assignee filter."""
    query = select(requests.c.assignee).where(requests.c.assignee.is_not(None)).distinct()
    return sorted(str(a) for a in (await conn.execute(query.limit(limit))).scalars())


async def audit(conn: AsyncConnection, *, actor: str, action: str, target: str, outcome: str,
                details: Mapping[str, str | int | bool | None] | None = None, now: datetime | None = None) -> None:
    """One ``audit_log`` row for a staff action on request ``target``, inside the caller's write."""
    if action not in ACTIONS:
        raise ValueError(f"unknown staff action {action!r}; one of {', '.join(sorted(ACTIONS))}")
    await conn.execute(insert(audit_log).values(
        actor=actor[:120] or "staff", action=action, target=target[:200], outcome=outcome[:16],
        details=dict(details or {}), created_at=now or utcnow()))
