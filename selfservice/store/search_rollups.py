"""SQL for search analytics over a period, and the rollups that keep a year of it fast.

Why rollups: a year of searches is hundreds of thousands of ``search_events`` rows, and
grouping them by query on every dashboard view would take seconds on SQLite. So
:func:`summarise` folds each finished UTC day into ``insights_search_totals`` (one row a day)
and ``insights_search_queries`` (one row per day and query), and each finished month into
the same tables with ``span = 'm'``. :func:`search_stats` then reads whole months from month
rows, the other days from day rows, and only what is not summarised yet (today, normally)
from ``search_events`` itself — with the very same grouping query that built the rollups, so
both paths count alike. A day is summarised :data:`ROLLUP_LAG` after it ended, leaving time
for the click that follows a search; a click later than that is not counted. The three
top-query lists are chosen in SQL, so only their rows leave the database.

The small SQL helpers for periods (:func:`day_of`, :func:`count_if`, :func:`as_date`) are
shared with :mod:`.insights`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Store
from .tables import insights_search_queries, insights_search_totals, search_events

__all__ = [
    "ROLLUP_LAG",
    "DaySearches",
    "QueryCount",
    "SearchStats",
    "as_date",
    "count_if",
    "day_of",
    "day_start",
    "search_stats",
    "summarise",
]

ROLLUP_LAG = timedelta(hours=2)
"""How long after a UTC day ends before it is summarised (its searches' clicks come first)."""

ONE_DAY = timedelta(days=1)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _in_ranges(column: Any, ranges: Sequence[tuple[datetime, datetime]]) -> ColumnElement[bool]:
    if not ranges:
        return false()
    return or_(*(and_(column >= a, column < b) for a, b in ranges))


def as_date(value: object) -> date:
    """A day key from either backend: SQLite's ``date()`` gives text, PostgreSQL a ``date``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def day_of(conn: AsyncConnection, column: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp column, in SQL."""
    if conn.dialect.name == "sqlite":
        return func.date(column)  # stored as UTC text, see UTCDateTime
    return cast(func.timezone("UTC", column), Date)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as ``[first, after_last)`` runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + ONE_DAY)
        else:
            runs.append((day, day + ONE_DAY))
    return runs


# -- searches -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryCount:
    """One normalised query in a period: searches, how many found nothing, how many were
    followed by a click, and the sum of their result counts."""

    query: str
    searches: int
    zero_results: int
    clicks: int
    results: int


@dataclass(frozen=True, slots=True)
class DaySearches:
    day: date
    searches: int
    zero_results: int
    clicks: int


@dataclass
class SearchStats:
    """Everything the dashboard shows about searches in a period."""

    top: list[QueryCount]  # most searched first
    zero: list[QueryCount]  # most zero-result searches first
    no_click: list[QueryCount]  # most searches with results but no click first
    days: list[DaySearches]  # every day of the period, oldest first (zeros included)
    rank_clicks: dict[int, int]  # result rank (1-based) → clicks
    from_rollups: int = 0  # days read from summaries, for the benchmark and tests

    @property
    def searches(self) -> int:
        return sum(d.searches for d in self.days)

    @property
    def zero_results(self) -> int:
        return sum(d.zero_results for d in self.days)

    @property
    def clicks(self) -> int:
        return sum(d.clicks for d in self.days)


def _raw_queries(conn: AsyncConnection, ranges: Sequence[tuple[datetime, datetime]], *, by_day: bool) -> Any:
    """The grouping query over ``search_events`` that both the rollups and live reads use."""
    e = search_events.c
    keys: list[Any] = [day_of(conn, e.created_at).label("day")] if by_day else []
    return (select(*keys, e.query_norm, func.count().label("searches"),
                   count_if(e.zero_results.is_(true())).label("zero_results"),
                   count_if(e.clicked_slug.is_not(None)).label("clicks"),
                   func.coalesce(func.sum(e.result_count), 0).label("results"))
            .where(_in_ranges(e.created_at, ranges)).group_by(*keys, e.query_norm))


def _raw_days(conn: AsyncConnection, ranges: Sequence[tuple[datetime, datetime]]) -> Any:
    e = search_events.c
    day = day_of(conn, e.created_at).label("day")
    return (select(day, func.count().label("searches"), count_if(e.zero_results.is_(true())).label("zero_results"),
                   count_if(e.clicked_slug.is_not(None)).label("clicks"))
            .where(_in_ranges(e.created_at, ranges)).group_by(day))


def _raw_ranks(conn: AsyncConnection, ranges: Sequence[tuple[datetime, datetime]], *, by_day: bool) -> Any:
    e = search_events.c
    keys: list[Any] = [day_of(conn, e.created_at).label("day")] if by_day else []
    return (select(*keys, e.clicked_rank, func.count().label("n"))
            .where(_in_ranges(e.created_at, ranges), e.clicked_slug.is_not(None), e.clicked_rank.is_not(None))
            .group_by(*keys, e.clicked_rank))


async def search_stats(conn: AsyncConnection, first: date, after: date, *, top: int = 20) -> SearchStats:
    """Searches on the UTC days ``[first, after)``: summaries where they exist, raw rows elsewhere.
    The query lists hold the ``top`` queries each (ties: alphabetical)."""
    t, q = insights_search_totals.c, insights_search_queries.c
    summaries = (await conn.execute(select(t.span, t.start, t.searches, t.zero_results, t.clicks, t.rank_clicks)
                                    .where(t.start >= first, t.start < after))).all()
    day_rows = {as_date(r.start): r for r in summaries if r.span == "d"}
    months = [as_date(r.start) for r in summaries if r.span == "m" and _next_month(as_date(r.start)) <= after]
    in_months = {m + timedelta(days=i) for m in months for i in range((_next_month(m) - m).days)}
    period = [first + timedelta(days=i) for i in range((after - first).days)]
    raw_ranges = [(day_start(a), day_start(b)) for a, b in _day_ranges(d for d in period if d not in day_rows)]

    # Per query: month rows, day rows outside those months, raw rows for unsummarised days.
    parts: list[Any] = []
    rolled_days = _day_ranges(d for d in day_rows if d not in in_months)
    if months or rolled_days:
        parts.append(select(q.query_norm, q.searches, q.zero_results, q.clicks, q.results).where(or_(
            and_(q.span == "m", q.start.in_(months)) if months else false(),
            *(and_(q.span == "d", q.start >= a, q.start < b) for a, b in rolled_days))))
    if raw_ranges:
        parts.append(_raw_queries(conn, raw_ranges, by_day=False))
    lists: dict[str, list[QueryCount]] = {"top": [], "zero": [], "no_click": []}
    if parts:
        for row in (await conn.execute(_top_queries(parts, top))).all():
            lists[row[0]].append(QueryCount(str(row[1]), int(row[2]), int(row[3]), int(row[4]), int(row[5])))

    per_day = {d: DaySearches(d, int(r.searches), int(r.zero_results), int(r.clicks)) for d, r in day_rows.items()}
    ranks: dict[int, int] = {}
    for row in day_rows.values():
        for rank, n in (row.rank_clicks or {}).items():
            ranks[int(rank)] = ranks.get(int(rank), 0) + int(n)
    if raw_ranges:
        for r in (await conn.execute(_raw_days(conn, raw_ranges))).all():
            per_day[as_date(r.day)] = DaySearches(as_date(r.day), int(r.searches), int(r.zero_results), int(r.clicks))
        for rank, n in (await conn.execute(_raw_ranks(conn, raw_ranges, by_day=False))).all():
            ranks[int(rank)] = ranks.get(int(rank), 0) + int(n)
    days = [per_day.get(d, DaySearches(d, 0, 0, 0)) for d in period]
    return SearchStats(lists["top"], lists["zero"], lists["no_click"], days, dict(sorted(ranks.items())),
                       from_rollups=len(day_rows))


def _top_queries(parts: list[Any], top: int) -> Any:
    """One statement: group the parts by query once (a CTE used three times, which both
    SQLite and PostgreSQL materialise), then the ``top`` rows of each list. A year can hold
    tens of thousands of distinct queries; only these few rows leave the database."""
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    g = select(both.c.query_norm.label("query"), func.sum(both.c.searches).label("searches"),
               func.sum(both.c.zero_results).label("zero_results"), func.sum(both.c.clicks).label("clicks"),
               func.sum(both.c.results).label("results")).group_by(both.c.query_norm).cte("g")
    no_click = g.c.searches - g.c.zero_results - g.c.clicks
    lists = [
        ("top", true(), g.c.searches),
        ("zero", g.c.zero_results > 0, g.c.zero_results),
        ("no_click", no_click > 0, no_click),
    ]
    picked = [select(literal(name).label("list"), g.c.query, g.c.searches, g.c.zero_results, g.c.clicks, g.c.results)
              .where(where).order_by(key.desc(), g.c.query).limit(top).subquery() for name, where, key in lists]
    return union_all(*(select(*p.c) for p in picked))


async def summarise(store: Store, now: datetime, *, keep_days: int | None = None, chunk_days: int = 31) -> int:
    """Summarise every finished day (and month) not summarised yet; returns the days added.

    With ``keep_days`` (``Settings.search_retention_days``) summaries older than that are
    deleted, as the search events themselves are. Cheap when there is nothing to do: one
    read of at most a year of small rows. Safe to run from two processes at once (each
    batch re-checks inside its write transaction).
    """
    last_closed = (now - ROLLUP_LAG).date() - ONE_DAY  # the newest day that ended ROLLUP_LAG ago
    cutoff = (now - timedelta(days=keep_days)).date() if keep_days is not None else None
    t = insights_search_totals.c
    async with store.read() as conn:
        oldest = (await conn.execute(select(func.min(search_events.c.created_at)))).scalar_one_or_none()
        first = oldest.date() if oldest is not None else None
        if cutoff is not None and first is not None:
            first = max(first, cutoff)
        done = set()
        if first is not None:
            done = {(r.span, as_date(r.start)) for r in (await conn.execute(
                select(t.span, t.start).where(t.start >= first))).all()}
        stale = cutoff is not None and (await conn.execute(
            select(func.count()).select_from(insights_search_totals).where(t.start < cutoff))).scalar_one() > 0
    if stale and cutoff is not None:
        async with store.write() as conn:
            for table in (insights_search_queries, insights_search_totals):
                await conn.execute(delete(table).where(table.c.start < cutoff))
    if first is None or first > last_closed:
        return 0
    missing = [first + timedelta(days=i) for i in range((last_closed - first).days + 1)]
    missing = [d for d in missing if ("d", d) not in done]
    added = 0
    for i in range(0, len(missing), chunk_days):
        async with store.write() as conn:
            added += await _summarise_days(conn, missing[i:i + chunk_days])
    months, month = [], date(first.year, first.month, 1)
    while _next_month(month) <= last_closed + ONE_DAY:
        if month >= first and ("m", month) not in done:
            months.append(month)
        month = _next_month(month)
    for month in months:
        async with store.write() as conn:
            await _summarise_month(conn, month)
    return added


async def _summarise_days(conn: AsyncConnection, days: list[date]) -> int:
    t = insights_search_totals.c
    taken = {as_date(s) for s in (await conn.execute(
        select(t.start).where(t.span == "d", t.start.in_(days)))).scalars()}
    days = [d for d in days if d not in taken]
    if not days:
        return 0
    ranges = [(day_start(a), day_start(b)) for a, b in _day_ranges(days)]
    totals: dict[date, dict[str, Any]] = {d: {"span": "d", "start": d, "searches": 0, "zero_results": 0, "clicks": 0,
                                              "rank_clicks": {}} for d in days}
    rows = []
    for r in (await conn.execute(_raw_queries(conn, ranges, by_day=True))).all():
        day = as_date(r.day)
        rows.append({"span": "d", "start": day, "query_norm": r.query_norm, "searches": int(r.searches),
                     "zero_results": int(r.zero_results), "clicks": int(r.clicks), "results": int(r.results)})
        for key in ("searches", "zero_results", "clicks"):
            totals[day][key] += int(getattr(r, key))
    for r in (await conn.execute(_raw_ranks(conn, ranges, by_day=True))).all():
        totals[as_date(r.day)]["rank_clicks"][str(r.clicked_rank)] = int(r.n)
    for i in range(0, len(rows), 5000):
        await conn.execute(insert(insights_search_queries), rows[i:i + 5000])
    await conn.execute(insert(insights_search_totals), list(totals.values()))
    return len(days)


async def _summarise_month(conn: AsyncConnection, month: date) -> None:
    t, q = insights_search_totals.c, insights_search_queries.c
    if (await conn.execute(select(t.start).where(t.span == "m", t.start == month))).first() is not None:
        return
    after = _next_month(month)
    in_month = and_(q.span == "d", q.start >= month, q.start < after)
    await conn.execute(insert(insights_search_queries).from_select(
        ["span", "start", "query_norm", "searches", "zero_results", "clicks", "results"],
        select(literal("m"), literal(month, Date), q.query_norm, func.sum(q.searches), func.sum(q.zero_results),
               func.sum(q.clicks), func.sum(q.results)).where(in_month).group_by(q.query_norm)))
    counts = {"searches": 0, "zero_results": 0, "clicks": 0}
    ranks: dict[str, int] = {}
    for r in (await conn.execute(select(t.searches, t.zero_results, t.clicks, t.rank_clicks).where(
            t.span == "d", t.start >= month, t.start < after))).all():
        for key in counts:
            counts[key] += int(getattr(r, key))
        for rank, n in (r.rank_clicks or {}).items():
            ranks[rank] = ranks.get(rank, 0) + int(n)
    await conn.execute(insert(insights_search_totals).values(span="m", start=month, rank_clicks=ranks, **counts))
