"""SQL for the staff insights dashboard: votes, survey answers, deflection and requests for a
period ``[start, end)``. Searches, and their rollups, are in :mod:`.search_rollups`.

The formulas (rates, medians, NPS…) live in :mod:`selfservice.insights`; this module only
counts. Every reader takes the connection of one ``Store.read()``, so the whole dashboard is
one consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from .search_rollups import as_date, count_if, day_of
from .tables import deflections, request_events, requests, surveys, votes

__all__ = [
    "Note",
    "PageVotes",
    "RequestFacts",
    "TimelineEvent",
    "deflection_sessions",
    "open_complaints_overdue",
    "page_votes",
    "request_facts",
    "survey_scores",
    "vote_notes",
]


# -- votes and surveys --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageVotes:
    page_kind: str
    page_slug: str
    helpful: int
    not_helpful: int


@dataclass(frozen=True, slots=True)
class Note:
    """A reason or comment left with a vote."""

    helpful: bool
    reason: str | None
    comment: str | None
    at: datetime


async def page_votes(conn: AsyncConnection, start: datetime, end: datetime) -> list[PageVotes]:
    """Per page, the votes last given or changed in the period (a vote is one visitor's
    current answer: ``updated_at`` is when they gave it)."""
    v = votes.c
    query = (select(v.page_kind, v.page_slug, count_if(v.helpful.is_(true())), count_if(v.helpful.is_(false())))
             .where(v.updated_at >= start, v.updated_at < end).group_by(v.page_kind, v.page_slug))
    return [PageVotes(str(k), str(s), int(y), int(n)) for k, s, y, n in (await conn.execute(query)).all()]


async def vote_notes(conn: AsyncConnection, start: datetime, end: datetime, pages: Sequence[tuple[str, str]],
                     per_page: int = 3) -> tuple[dict[tuple[str, str], list[Note]], dict[tuple[str, str], dict[str, int]]]:
    """For ``pages``: the newest reasons/comments of the period (``per_page`` each) and, for
    "not helpful" votes, how often each reason was given. Two queries, whatever the pages."""
    v = votes.c
    notes: dict[tuple[str, str], list[Note]] = {page: [] for page in pages}
    reasons: dict[tuple[str, str], dict[str, int]] = {page: {} for page in pages}
    if not pages:
        return notes, reasons
    chosen = and_(v.updated_at >= start, v.updated_at < end,
                  or_(*(and_(v.page_kind == kind, v.page_slug == slug) for kind, slug in pages)))
    newest = func.row_number().over(partition_by=(v.page_kind, v.page_slug),
                                    order_by=(v.updated_at.desc(), v.id.desc())).label("n")
    ranked = select(v.page_kind, v.page_slug, v.helpful, v.reason, v.comment, v.updated_at, v.id, newest).where(
        chosen, or_(v.reason.is_not(None), v.comment.is_not(None))).subquery()
    for r in (await conn.execute(select(ranked).where(ranked.c.n <= per_page)
                                 .order_by(ranked.c.updated_at.desc(), ranked.c.id.desc()))).all():
        notes[(r.page_kind, r.page_slug)].append(Note(bool(r.helpful), r.reason, r.comment, r.updated_at))
    for kind, slug, reason, n in (await conn.execute(select(v.page_kind, v.page_slug, v.reason, func.count()).where(
            chosen, v.helpful.is_(false()), v.reason.is_not(None)).group_by(v.page_kind, v.page_slug, v.reason))).all():
        reasons[(kind, slug)][str(reason)] = int(n)
    return notes, reasons


async def survey_scores(conn: AsyncConnection, start: datetime, end: datetime) -> dict[str, dict[int, int]]:
    """``{"csat": {score: answers}, "nps": {…}}`` for answers given in the period."""
    s = surveys.c
    found: dict[str, dict[int, int]] = {"csat": {}, "nps": {}}
    for kind, score, n in (await conn.execute(select(s.kind, s.score, func.count()).where(
            s.created_at >= start, s.created_at < end).group_by(s.kind, s.score))).all():
        found.setdefault(str(kind), {})[int(score)] = int(n)
    return found


# -- deflection ---------------------------------------------------------------------------------


async def deflection_sessions(conn: AsyncConnection, start: datetime, end: datetime) -> tuple[
        dict[tuple[str, date], bool], set[tuple[str, date]]]:
    """Sessions shown suggestions in the period (visitor hash, UTC day) → whether they opened
    one; and the sessions that sent a request (contact or complaint form)."""
    d, r = deflections.c, requests.c
    day = day_of(conn, d.created_at).label("day")
    opened = func.max(case((d.clicked_slug.is_not(None), 1), else_=0))
    shown = {(str(h), as_date(dy)): bool(o) for h, dy, o in (await conn.execute(
        select(d.session_hash, day, opened).where(d.created_at >= start, d.created_at < end, d.session_hash.is_not(None))
        .group_by(d.session_hash, day))).all()}
    rday = day_of(conn, r.created_at).label("day")
    sent = {(str(h), as_date(dy)) for h, dy in (await conn.execute(
        select(r.session_hash, rday).where(r.created_at >= start, r.created_at < end, r.session_hash.is_not(None))
        .group_by(r.session_hash, rday))).all()}
    return shown, sent


# -- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    at: datetime
    kind: str  # status, reply, note, escalation, satisfaction
    author: str  # customer, staff, system
    status: str | None
    internal: bool


@dataclass
class RequestFacts:
    """A request created in the period, with its timeline (oldest first)."""

    reference: str
    kind: str
    status: str
    subject: str
    created_at: datetime
    resolved_at: datetime | None
    due_at: datetime | None
    satisfaction: int | None
    events: list[TimelineEvent] = field(default_factory=list)


async def request_facts(conn: AsyncConnection, start: datetime, end: datetime) -> list[RequestFacts]:
    r, e = requests.c, request_events.c
    period = and_(r.created_at >= start, r.created_at < end)
    rows = (await conn.execute(select(r.id, r.reference, r.kind, r.status, r.subject, r.created_at, r.resolved_at,
                                      r.due_at, r.satisfaction).where(period).order_by(r.created_at, r.id))).all()
    facts = {row.id: RequestFacts(row.reference, row.kind, row.status, row.subject, row.created_at, row.resolved_at,
                                  row.due_at, row.satisfaction) for row in rows}
    if facts:
        ids = select(r.id).where(period).scalar_subquery()
        for ev in (await conn.execute(select(e.request_id, e.created_at, e.kind, e.author, e.status, e.internal)
                                      .where(e.request_id.in_(ids)).order_by(e.request_id, e.created_at, e.id))).all():
            facts[ev.request_id].events.append(TimelineEvent(ev.created_at, ev.kind, ev.author, ev.status, bool(ev.internal)))
    return list(facts.values())


async def open_complaints_overdue(conn: AsyncConnection, now: datetime, open_statuses: Iterable[str]) -> list[RequestFacts]:
    """Open complaints past their response date now, whenever they were made; most overdue first."""
    r = requests.c
    rows = (await conn.execute(select(r.reference, r.kind, r.status, r.subject, r.created_at, r.resolved_at, r.due_at,
                                      r.satisfaction).where(r.kind == "complaint", r.status.in_(sorted(open_statuses)),
                                                            r.due_at < now).order_by(r.due_at, r.id))).all()
    return [RequestFacts(*row) for row in rows]
