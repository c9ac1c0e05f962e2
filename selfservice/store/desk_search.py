"""Search analytics as a Python API (``portal.desk.searches``): record searches and clicks
without ever slowing or breaking a search, and keep popular queries for autocomplete.

A search view calls :meth:`SearchLog.record` (plain, synchronous, no I/O): the event goes
into a bounded in-memory queue and a background task writes the queue in batches through the
desk's group commit (:mod:`.batch`), one multi-row insert per batch: a batch gathers for
:data:`BATCH_WINDOW` (or until :data:`MAX_BATCH` events), so a busy portal commits about
once a second whatever its search rate. If the store is down the batch is dropped and logged (at most once a
minute); a full queue drops new events the same way. Writing starts once the desk's store
is open in the running event loop (the portal's lifespan, or the first form post, opens it);
:meth:`~SearchLog.flush` writes everything queued now (tests, shutdown).

Popular queries (searched at least :data:`POPULAR_MIN_COUNT` times in
:data:`POPULAR_DAYS` days, with results) are kept in memory, so autocomplete offers them
without a database round-trip. They are re-read, and events older than
``Settings.search_retention_days`` deleted, by the same background task after it wrote a
batch, at most every :data:`MAINTENANCE_EVERY` seconds (the first time right after start-up).
It runs in that task rather than in the outbox worker's periodic job so that shutting down
waits for it (:meth:`SearchLog.close`) instead of cancelling a query half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import bisect
import logging
import re
import secrets
import time
import unicodedata
from collections import deque
from datetime import timedelta
from typing import TYPE_CHECKING

from .search_events import SearchClick, SearchEvent

if TYPE_CHECKING:
    from .desk import Desk

__all__ = ["KEY_RE", "MAINTENANCE_EVERY", "MAX_QUEUE", "POPULAR_DAYS", "POPULAR_MIN_COUNT", "SearchLog", "normalize_query"]

log = logging.getLogger("selfservice")

MAX_QUEUE = 10_000  # events held in memory while the store is slow or down
BATCH_WINDOW = 1.0  # seconds a batch of search events gathers before it is written
MAX_BATCH = 500
POPULAR_DAYS = 30
POPULAR_MIN_COUNT = 3  # a query typed by fewer people may hold personal data: never offered
WARN_EVERY = 60.0  # seconds between two "could not record" log lines
MAINTENANCE_EVERY = 300.0
KEY_RE = re.compile(r"[A-Za-z0-9_-]{16}")


def normalize_query(q: str) -> str:
    """What is stored and counted: lower case, accents and spacing folded, 512 characters."""
    text = unicodedata.normalize("NFKC", q).casefold()
    return " ".join(text.split())[:512]


class SearchLog:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._queue: deque[SearchEvent | SearchClick] = deque()
        self._task: asyncio.Task[None] | None = None
        self._hurry = False  # flush() asked: write what is queued without gathering a batch
        self._hurry_event: asyncio.Event | None = None
        self._last_warning = -WARN_EVERY
        self._last_maintenance = -MAINTENANCE_EVERY
        self._popular: list[str] = []  # sorted, for prefix ranges
        self._rank: dict[str, int] = {}  # query → times searched
        self.written = 0  # events written: for tests and monitoring
        self.dropped = 0

    # -- recording (the hot path: no I/O, never raises) -----------------------------------

    def record(self, query: str, result_count: int, locale: str) -> str | None:
        """Queue one search; returns the key for its click-through links (None: not recorded)."""
        norm = normalize_query(query)
        if not norm:
            return None
        key = secrets.token_urlsafe(12)  # 16 characters
        if self._put(SearchEvent(key, norm, locale, max(0, int(result_count)))):
            return key
        return None

    def click(self, key: str, slug: str, rank: int | None) -> None:
        """Queue that the result ``slug`` at ``rank`` of search ``key`` was opened."""
        if KEY_RE.fullmatch(key):
            self._put(SearchClick(key, slug, rank))

    def _put(self, item: SearchEvent | SearchClick) -> bool:
        if len(self._queue) >= MAX_QUEUE:
            self.dropped += 1
            self._warn("search analytics: %d events queued, the store is not keeping up; dropping new ones",
                       len(self._queue))
            return False
        self._queue.append(item)
        self.kick()
        return True

    def kick(self) -> None:
        """Start writing the queue in the background, if the store is open in this loop.

        A search never opens the store itself: a store opened from a background task can be
        cut off mid-connect when its event loop ends. Events wait (at most ``MAX_QUEUE``) until
        the store opens — at start-up, on the first form post, or in :meth:`flush`."""
        if not self._queue or not self.desk.ready:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a call from a thread): the next search in a loop writes them
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._drain(), name="selfservice-search-log")

    async def _drain(self) -> None:
        if not self.desk.ready:
            try:
                await self.desk.store()
            except Exception as exc:  # noqa: BLE001 - analytics must never break anything
                self._warn("search analytics: the store cannot be opened, events stay queued: %s", exc)
                return
        while self._queue:
            if len(self._queue) < MAX_BATCH and not self._hurry:
                # Gather a batch: one durable commit for many searches instead of one per search
                # (each commit is an fsync). Events that came in while the last batch was being
                # written gather too: writing them at once meant a commit per few searches
                # under load. flush() cuts the wait short.
                self._hurry_event = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(BATCH_WINDOW):  # not wait_for: see OutboxWorker._run
                        await self._hurry_event.wait()
            batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
            await self._write(batch)
        self._hurry = False
        if time.monotonic() - self._last_maintenance >= MAINTENANCE_EVERY:
            self._last_maintenance = time.monotonic()
            try:
                await self.maintain()
            except Exception as exc:  # noqa: BLE001 - the next batch tries again later
                self._warn("search analytics: retention or popular queries failed: %s", exc)

    async def _write(self, batch: list[SearchEvent | SearchClick]) -> None:
        from .search_events import events_work

        try:
            self.written += await self.desk.write(events_work(batch))
        except Exception as exc:  # noqa: BLE001 - analytics must never break anything
            self.dropped += len(batch)
            self._warn("search analytics: could not write %d events, dropped them: %s", len(batch), exc)

    def _warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY:
            self._last_warning = now
            log.warning(message, *args)

    async def flush(self) -> None:
        """Write everything queued so far (opening the store if needed); never raises."""
        task = self._task
        self._hurry = True
        if self._hurry_event is not None:
            self._hurry_event.set()
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.cancelled():  # this caller was cancelled, not the writer
                    raise
        if self._queue:
            await self._drain()

    async def close(self) -> None:
        """Write what is queued, if the store is open (the desk calls this when it closes)."""
        if self.desk.ready:
            await self.flush()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()

    # -- maintenance (after a batch, every MAINTENANCE_EVERY seconds) ---------------------

    async def refresh_popular(self) -> None:
        """Reload the popular queries autocomplete offers."""
        from .search_events import popular_queries

        since = self.desk.clock() - timedelta(days=POPULAR_DAYS)
        found = await popular_queries(await self.desk.store(), since, min_count=POPULAR_MIN_COUNT)
        self._rank = dict(found)
        self._popular = sorted(self._rank)

    async def purge(self) -> int:
        """Delete events older than ``Settings.search_retention_days`` (None: keep them)."""
        days = self.desk.settings.search_retention_days
        if days is None:
            return 0
        from .search_events import purge_before

        return await purge_before(await self.desk.store(), self.desk.clock() - timedelta(days=days))

    async def maintain(self) -> None:
        """Apply the retention setting and reload the popular queries."""
        removed = await self.purge()
        if removed:
            log.info("search retention: removed %d search events", removed)
        await self.refresh_popular()

    # -- autocomplete ---------------------------------------------------------------------

    def popular(self, prefix: str, limit: int = 5) -> list[str]:
        """Popular queries starting with ``prefix`` (normalised), most searched first."""
        norm = normalize_query(prefix)
        if not norm or limit <= 0:
            return []
        words = self._popular
        i = bisect.bisect_left(words, norm)
        found: list[str] = []
        while i < len(words) and words[i].startswith(norm) and len(found) < 200:
            found.append(words[i])
            i += 1
        found.sort(key=lambda q: (-self._rank[q], len(q), q))
        return found[:limit]
