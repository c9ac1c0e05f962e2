"""SQL for feedback: "Was this helpful?" votes, CSAT/NPS answers and article suggestions.

Each ``*_work`` function returns the work for :class:`~.batch.GroupCommit` (a coroutine
function of the connection), so votes from many visitors share one commit. The readers
(:func:`vote_of`, :func:`page_summary`, :func:`rows`) open their own read transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Store
from .idempotency import claim_key, settle_key
from .tables import deflections, request_events, requests, surveys, utcnow, votes
from . import upsert  # the function, via the package (see __init__: never `from .upsert import`)

__all__ = [
    "EXPORTS",
    "Vote",
    "deflection_click_work",
    "deflection_work",
    "page_summary",
    "purge_before",
    "rows",
    "survey_work",
    "vote_details_work",
    "vote_of",
    "vote_work",
    "votes_many",
]

Work = Callable[[AsyncConnection], Awaitable[Any]]
_VOTE_KEY = ("page_kind", "page_slug", "visitor_hash")


@dataclass(frozen=True)
class Vote:
    id: int
    page_kind: str
    page_slug: str
    helpful: bool
    reason: str | None
    comment: str | None
    updated_at: datetime


def vote_work(page_kind: str, page_slug: str, visitor_hash: str, helpful: bool) -> Work:
    """Record (or change) a visitor's vote; the work returns the vote's id (the receipt).

    Changing yes to no clears the reason and comment given for the old answer.
    """

    async def work(conn: AsyncConnection) -> int:
        now = utcnow()
        values = {"page_kind": page_kind, "page_slug": page_slug, "visitor_hash": visitor_hash,
                  "helpful": helpful, "created_at": now, "updated_at": now, "reason": None, "comment": None}
        existing = (await conn.execute(select(votes.c.id, votes.c.helpful).where(
            and_(*(votes.c[k] == values[k] for k in _VOTE_KEY))))).one_or_none()
        if existing is not None and existing.helpful == helpful:
            return int(existing.id)  # the same answer again: nothing to change
        row = await upsert(conn, votes, values, key=_VOTE_KEY, update=("helpful", "reason", "comment"), returning=("id",))
        return int(row.id)

    return work


VoteArgs = tuple[str, str, str, bool]  # page_kind, page_slug, visitor_hash, helpful


def votes_many(conn: Connection, items: list[VoteArgs]) -> list[int]:
    """Record many votes with one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``; the ids, in order.

    Synchronous SQLAlchemy: the group commit runs it in :meth:`Store.run_write` (one
    hand-off to SQLite's writer thread for the whole batch). Same rules as
    :func:`vote_work`: a changed answer clears its reason and comment, the same answer again
    changes nothing. A visitor naming one page twice in a batch is applied in order, one
    statement per repeat.
    """
    found: dict[int, int] = {}
    pending = list(enumerate(items))
    while pending:
        keys: set[tuple[str, str, str]] = set()
        now_items: list[tuple[int, VoteArgs]] = []
        later: list[tuple[int, VoteArgs]] = []
        for i, item in pending:
            (later if item[:3] in keys else now_items).append((i, item))
            keys.add(item[:3])
        for (i, _item), vote_id in zip(now_items, _votes_once(conn, [item for _, item in now_items]), strict=True):
            found[i] = vote_id
        pending = later
    return [found[i] for i in range(len(items))]


@functools.cache
def _upsert_votes(dialect_name: str) -> Any:
    """The votes upsert, built once per dialect (building and cache-keying it each time cost
    more than running it)."""
    dialect: Any = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(votes)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(_VOTE_KEY),
        set_={"helpful": excluded.helpful, "reason": excluded.reason, "comment": excluded.comment,
              "updated_at": excluded.updated_at},
        where=votes.c.helpful != excluded.helpful,
    ).returning(votes.c.id, votes.c.page_kind, votes.c.page_slug, votes.c.visitor_hash)


@functools.lru_cache(maxsize=512)
def _sqlite_votes_sql(n: int) -> tuple[str, str]:
    """SQLite: the upsert of ``n`` votes as one statement, and one query that reads their ids
    back as a single JSON row (the SQL text, built once per batch size)."""
    columns = "page_kind, page_slug, visitor_hash, helpful, reason, comment, created_at, updated_at"
    upsert = (f"INSERT INTO votes ({columns}) VALUES " + ", ".join(["(?, ?, ?, ?, NULL, NULL, ?, ?)"] * n)
              + " ON CONFLICT (page_kind, page_slug, visitor_hash) DO UPDATE SET helpful = excluded.helpful,"
              " reason = excluded.reason, comment = excluded.comment, updated_at = excluded.updated_at"
              " WHERE votes.helpful != excluded.helpful")
    ids = ("WITH k(n, page_kind, page_slug, visitor_hash) AS (VALUES " + ", ".join(["(?, ?, ?, ?)"] * n) + ")"
           " SELECT json_group_array(json_array(k.n, votes.id)) FROM k JOIN votes ON votes.page_kind = k.page_kind"
           " AND votes.page_slug = k.page_slug AND votes.visitor_hash = k.visitor_hash")
    return upsert, ids


def _sqlite_votes_once(conn: Connection, items: list[VoteArgs]) -> list[int]:
    """:func:`_votes_once` on SQLite in two statements that each return at most one row.

    pysqlite lets go of the GIL for every row it steps through; on the writer thread each row
    of an ``INSERT … RETURNING`` (and each parameter set of an executemany) then waits for the
    event loop's thread to hand the GIL back — up to 5 ms each while it is busy serving
    requests, which made a commit of 64 votes take hundreds of milliseconds under load.
    """
    process = votes.c.created_at.type.bind_processor(conn.dialect) or (lambda value: value)
    now = process(utcnow())
    upsert, ids = _sqlite_votes_sql(len(items))
    conn.exec_driver_sql(upsert, tuple(value for kind, slug, visitor, helpful in items
                                       for value in (kind, slug, visitor, int(helpful), now, now)))
    found = conn.exec_driver_sql(ids, tuple(value for n, item in enumerate(items) for value in (n, *item[:3])))
    by_position = dict(json.loads(found.scalar_one()))
    return [int(by_position[n]) for n in range(len(items))]


def _votes_once(conn: Connection, items: list[VoteArgs]) -> list[int]:
    """:func:`votes_many` for items naming each (page, visitor) once."""
    if conn.dialect.name == "sqlite" and len(items) > 1:  # one row back: RETURNING is fine
        return _sqlite_votes_once(conn, items)
    now = utcnow()
    rows = [{"page_kind": kind, "page_slug": slug, "visitor_hash": visitor, "helpful": helpful, "reason": None,
             "comment": None, "created_at": now, "updated_at": now} for kind, slug, visitor, helpful in items]
    # A list of parameter sets: SQLAlchemy's "insertmanyvalues" sends it as multi-row
    # statements whose compiled form is cached, whatever the batch size.
    found = {(r.page_kind, r.page_slug, r.visitor_hash): int(r.id)
             for r in conn.execute(_upsert_votes(conn.dialect.name), rows[0] if len(rows) == 1 else rows)}
    keys = [item[:3] for item in items]
    for key in keys:  # the same answer as before: not updated, so not returned
        if key not in found:
            found[key] = int(conn.execute(select(votes.c.id).where(
                votes.c.page_kind == key[0], votes.c.page_slug == key[1], votes.c.visitor_hash == key[2])).scalar_one())
    return [found[key] for key in keys]


def vote_details_work(page_kind: str, page_slug: str, visitor_hash: str, reason: str | None, comment: str | None) -> Work:
    """Add the optional reason and comment to a visitor's vote; returns the id, or None without a vote."""

    async def work(conn: AsyncConnection) -> int | None:
        result = await conn.execute(
            update(votes)
            .where(votes.c.page_kind == page_kind, votes.c.page_slug == page_slug, votes.c.visitor_hash == visitor_hash)
            .values(reason=reason, comment=comment, updated_at=utcnow())
            .returning(votes.c.id)
        )
        found = result.scalar_one_or_none()
        return int(found) if found is not None else None

    return work


async def vote_of(store: Store, page_kind: str, page_slug: str, visitor_hash: str) -> Vote | None:
    async with store.read() as conn:
        row = (await conn.execute(select(votes).where(
            votes.c.page_kind == page_kind, votes.c.page_slug == page_slug, votes.c.visitor_hash == visitor_hash,
        ))).mappings().one_or_none()
    if row is None:
        return None
    return Vote(row["id"], row["page_kind"], row["page_slug"], row["helpful"], row["reason"], row["comment"], row["updated_at"])


async def page_summary(store: Store, page_kind: str, page_slug: str) -> dict[str, int]:
    """``{"yes": n, "no": m}`` for one page."""
    async with store.read() as conn:
        result = (await conn.execute(
            select(votes.c.helpful, func.count()).where(votes.c.page_kind == page_kind, votes.c.page_slug == page_slug)
            .group_by(votes.c.helpful)
        )).all()
    counts = {bool(helpful): int(n) for helpful, n in result}
    return {"yes": counts.get(True, 0), "no": counts.get(False, 0)}


def survey_work(kind: str, score: int, comment: str | None, context: Mapping[str, Any], key: str | None) -> Work:
    """Store one CSAT/NPS answer; with ``key`` (a survey link's nonce or a form token) a
    repeat returns the first answer's id instead of storing another. Returns (id, created)."""

    async def work(conn: AsyncConnection) -> tuple[int, bool]:
        scoped = f"survey-{kind}:{key}" if key else None  # a key reused on another form is another key
        if scoped:
            earlier = await claim_key(conn, scoped, f"survey-{kind}")
            if earlier is not None:
                return int(earlier.ref), False
        new = await conn.execute(
            insert(surveys).values(kind=kind, score=score, comment=comment, context=dict(context), created_at=utcnow())
            .returning(surveys.c.id)
        )
        survey_id = int(new.scalar_one())
        if scoped:
            await settle_key(conn, scoped, str(survey_id))
        return survey_id, True

    return work


def deflection_work(form: str, query_norm: str, suggested: list[str], session_hash: str | None) -> Work:
    async def work(conn: AsyncConnection) -> int:
        new = await conn.execute(insert(deflections).values(
            form=form, query_norm=query_norm[:512], suggested=suggested, session_hash=session_hash, created_at=utcnow(),
        ).returning(deflections.c.id))
        return int(new.scalar_one())

    return work


def deflection_click_work(event_id: int, slug: str) -> Work:
    """Mark that the customer opened ``slug`` from suggestion list ``event_id`` (first click wins)."""

    async def work(conn: AsyncConnection) -> bool:
        result = await conn.execute(update(deflections).where(
            deflections.c.id == event_id, deflections.c.clicked_slug.is_(None)).values(clicked_slug=slug[:200]))
        return bool(result.rowcount)

    return work


async def purge_before(store: Store, before: datetime) -> dict[str, int]:
    """Delete votes, survey answers and suggestion events older than ``before`` (retention)."""
    removed: dict[str, int] = {}
    async with store.write() as conn:
        for name, table, column in (("votes", votes, votes.c.updated_at), ("surveys", surveys, surveys.c.created_at),
                                    ("deflections", deflections, deflections.c.created_at)):
            removed[name] = int((await conn.execute(delete(table).where(column < before))).rowcount or 0)
    return removed


#: What ``selfservice export`` can write: name → (table, columns left out).
EXPORTS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "feedback": (votes, ("visitor_hash",)),
    "surveys": (surveys, ()),
    "requests": (requests, ("session_hash",)),
    "request-events": (request_events, ()),
    "deflections": (deflections, ("session_hash",)),
}


async def rows(store: Store, what: str, *, since: datetime | None = None, chunk: int = 1000) -> AsyncIterator[dict[str, Any]]:
    """Every row of an export (oldest first), in chunks so memory stays flat on big tables."""
    table, hidden = EXPORTS[what]
    columns = [c for c in table.columns if c.name not in hidden]
    last_id = 0
    while True:
        query = select(*columns).where(table.c.id > last_id).order_by(table.c.id).limit(chunk)
        if since is not None:
            query = query.where(table.c.created_at >= since)
        async with store.read() as conn:
            batch = (await conn.execute(query)).mappings().all()
        for row in batch:
            yield dict(row)
        if len(batch) < chunk:
            return
        last_id = int(batch[-1]["id"])
