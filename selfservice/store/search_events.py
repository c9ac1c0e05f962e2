"""SQL for search analytics: what customers searched for, how many results they got, and
which result (at which rank) they opened.

One row of ``search_events`` per search. ``event_key`` is a random key the results page puts
in its click-through links (``/search/click/{key}``), so a click finds its search without
the search having to be written first (rows are written in the background, see
:mod:`.desk_search`). Never an IP address: ``session_hash`` stays empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Store
from .tables import search_events, utcnow

__all__ = ["SearchClick", "SearchEvent", "events_work", "popular_queries", "purge_before"]


@dataclass(frozen=True, slots=True)
class SearchEvent:
    """One search as recorded: the normalised query, not what was typed."""

    key: str
    query_norm: str
    locale: str
    result_count: int
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True, slots=True)
class SearchClick:
    """The customer opened result ``slug`` at ``rank`` (1-based) of search ``key``."""

    key: str
    slug: str
    rank: int | None


def events_work(items: Sequence[SearchEvent | SearchClick]) -> Callable[[AsyncConnection], Awaitable[int]]:
    """The group-commit work writing a batch: searches in one multi-row insert, then clicks
    (first click wins). Returns the number of rows inserted. Safe to run again (only the
    committed run counts)."""

    async def work(conn: AsyncConnection) -> int:
        events = [e for e in items if isinstance(e, SearchEvent)]
        if events:
            await conn.execute(insert(search_events), [{
                "event_key": e.key, "query_norm": e.query_norm[:512], "locale": e.locale[:16],
                "result_count": e.result_count, "zero_results": e.result_count == 0, "created_at": e.created_at,
            } for e in events])
        for click in items:
            if isinstance(click, SearchClick):
                await conn.execute(update(search_events).where(
                    search_events.c.event_key == click.key, search_events.c.clicked_slug.is_(None),
                ).values(clicked_slug=click.slug[:200], clicked_rank=click.rank))
        return len(events)

    return work


async def popular_queries(store: Store, since: datetime, *, min_count: int = 3, limit: int = 1000) -> list[tuple[str, int]]:
    """Queries searched at least ``min_count`` times since ``since`` that found something,
    most frequent first: what autocomplete may offer (rare queries may hold personal data)."""
    count = func.count().label("n")
    query = (select(search_events.c.query_norm, count)
             .where(search_events.c.created_at >= since, search_events.c.zero_results.is_(False))
             .group_by(search_events.c.query_norm).having(func.count() >= min_count)
             .order_by(count.desc(), search_events.c.query_norm).limit(limit))
    async with store.read() as conn:
        return [(str(q), int(n)) for q, n in (await conn.execute(query)).all()]


async def purge_before(store: Store, before: datetime) -> int:
    """Delete search events older than ``before`` (``Settings.search_retention_days``)."""
    async with store.write() as conn:
        result = await conn.execute(delete(search_events).where(search_events.c.created_at < before))
        return int(result.rowcount or 0)
