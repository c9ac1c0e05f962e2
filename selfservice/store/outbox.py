"""The outbox: mail and webhooks written with the record they announce, delivered afterwards.

Why: sending an email inside the request would either make the customer wait for the mail
server, or (after the commit) lose the email if the process dies in between. Instead
:func:`enqueue` adds a row in the *same* transaction as the request or vote, and the
:class:`OutboxWorker` delivers committed rows. Delivery is at-least-once: a message goes out
again only if the process died after sending and before recording it, and mail carries a
fixed ``Message-ID`` and webhooks a fixed delivery id, so receivers can drop the duplicate.

Claiming is a lease: in one :meth:`Store.write` the worker takes due rows and pushes their
``next_attempt_at`` :data:`LEASE` into the future, so other processes' workers skip them; a
worker killed mid-delivery leaves rows that simply come due again. A failed attempt sets
``next_attempt_at`` by exponential backoff (:func:`backoff`: 30 s, 1 min, 2 min … capped at
6 h, ±20 % jitter) and ``last_error``. After ``max_attempts`` attempts, or a permanent
failure, a row stays unsent for staff to look at (:func:`dead_letters`); nothing is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Store
from .tables import outbox, utcnow

__all__ = ["LEASE", "OutboxItem", "OutboxWorker", "backoff", "dead_letters", "enqueue", "enqueue_sync"]

log = logging.getLogger("selfservice")

LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)
IDLE_POLL = 60.0  # seconds between looks at the outbox when nothing woke the worker


def backoff(attempts: int, *, jitter: bool = True) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    delay = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)
    return delay * (random.uniform(0.8, 1.2) if jitter else 1.0)


def _enqueue_statement(kind: str, payload: Mapping[str, Any], now: datetime | None) -> Any:
    now = now or utcnow()
    return insert(outbox).values(kind=kind, payload=dict(payload), created_at=now, next_attempt_at=now).returning(outbox.c.id)


async def enqueue(conn: AsyncConnection, kind: str, payload: Mapping[str, Any], *, now: datetime | None = None) -> int:
    """Add one message (``kind`` ``"mail"`` or ``"webhook"``) inside the caller's transaction."""
    return int((await conn.execute(_enqueue_statement(kind, payload, now))).scalar_one())


def enqueue_sync(conn: Connection, kind: str, payload: Mapping[str, Any], *, now: datetime | None = None) -> int:
    """:func:`enqueue` inside a :meth:`Store.run_write` transaction (synchronous SQLAlchemy)."""
    return int(conn.execute(_enqueue_statement(kind, payload, now)).scalar_one())


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including the one about to be made


async def _claim(conn: AsyncConnection, now: datetime, limit: int, max_attempts: int) -> list[OutboxItem]:
    due = and_(outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= now, outbox.c.attempts < max_attempts)
    rows = (await conn.execute(
        select(outbox.c.id, outbox.c.kind, outbox.c.payload, outbox.c.attempts).where(due).order_by(outbox.c.id).limit(limit)
    )).all()
    if rows:
        await conn.execute(
            update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
            .values(attempts=outbox.c.attempts + 1, next_attempt_at=now + LEASE)
        )
    return [OutboxItem(r.id, r.kind, dict(r.payload), r.attempts + 1) for r in rows]


async def dead_letters(store: Store, max_attempts: int) -> list[dict[str, Any]]:
    """Rows that will not be tried again: for staff to fix the cause and re-queue."""
    async with store.read() as conn:
        rows = (await conn.execute(
            select(outbox).where(outbox.c.sent_at.is_(None), outbox.c.attempts >= max_attempts).order_by(outbox.c.id)
        )).mappings().all()
    return [dict(r) for r in rows]


class PermanentFailure(Exception):
    """Raised by a deliverer when retrying cannot help."""


Deliver = Callable[[OutboxItem], Awaitable[None]]
AfterSent = Callable[[AsyncConnection, OutboxItem, datetime], Awaitable[Any]]


class OutboxWorker:
    """Delivers due outbox rows with ``deliver(item)``; one per process and event loop.

    ``deliver`` raises to fail an attempt (an exception with a true ``permanent`` attribute
    stops the retries). ``after_sent(conn, item, now)`` runs in the transaction that marks a
    row sent (the request becomes "acknowledged" when its acknowledgement went out); its
    result is passed to ``on_committed`` after that commit (hooks). ``periodic`` jobs
    (escalation, retention) run at most every ``period`` seconds from the same loop.
    """

    def __init__(
        self,
        store: Callable[[], Awaitable[Store]],
        deliver: Deliver,
        *,
        max_attempts: int,
        after_sent: AfterSent | None = None,
        on_committed: Callable[[Any], None] | None = None,
        periodic: Sequence[Callable[[], Awaitable[Any]]] = (),
        period: float = 300.0,
        concurrency: int = 8,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._deliver = deliver
        self.max_attempts = max_attempts
        self._after_sent = after_sent
        self._on_committed = on_committed
        self._periodic = list(periodic)
        self.period = period
        self._limit = asyncio.Semaphore(concurrency)
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_periodic = -1e18
        self.idle = asyncio.Event()  # set whenever a pass found nothing more to do (for tests)

    def wake(self) -> None:
        """Something was enqueued: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self.idle.clear()  # a new task is not parked yet: its first pass is still to run
            self._task = asyncio.create_task(self._run(), name="selfservice-outbox")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def run_once(self, now: datetime | None = None, *, batch: int = 50) -> int:
        """Deliver every row due at ``now``; returns how many were sent. Call it from cron or tests."""
        sent = 0
        store = await self._store()
        while True:
            when = now or self.clock()
            if not await self._any_due(store, when):  # a read: no write lock, no fsync
                return sent
            async with store.write() as conn:
                items = await _claim(conn, when, batch, self.max_attempts)
            if not items:
                return sent
            # A failure is retried from `when` + backoff, so this pass never takes it again.
            results = await asyncio.gather(*(self._attempt(store, item, when) for item in items))
            sent += sum(results)

    async def _any_due(self, store: Store, when: datetime) -> bool:
        async with store.read() as conn:
            found = (await conn.execute(select(outbox.c.id).where(
                outbox.c.sent_at.is_(None), outbox.c.next_attempt_at <= when, outbox.c.attempts < self.max_attempts,
            ).limit(1))).first()
        return found is not None

    async def _attempt(self, store: Store, item: OutboxItem, now: datetime) -> bool:
        async with self._limit:
            try:
                await self._deliver(item)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
                permanent = bool(getattr(exc, "permanent", False)) or isinstance(exc, PermanentFailure)
                attempts = self.max_attempts if permanent else item.attempts
                retry_at = now + backoff(item.attempts)
                level = logging.ERROR if permanent or attempts >= self.max_attempts else logging.WARNING
                log.log(level, "outbox %s #%d attempt %d failed: %s", item.kind, item.id, item.attempts, exc)
                async with store.write() as conn:
                    await conn.execute(update(outbox).where(outbox.c.id == item.id).values(
                        attempts=attempts, next_attempt_at=retry_at, last_error=str(exc)[:2000] or type(exc).__name__))
                return False
        effect: Any = None
        async with store.write() as conn:
            await conn.execute(update(outbox).where(outbox.c.id == item.id).values(sent_at=self.clock(), last_error=None))
            if self._after_sent is not None:
                effect = await self._after_sent(conn, item, self.clock())
        if effect is not None and self._on_committed is not None:
            self._on_committed(effect)
        return True

    async def _next_due(self) -> float:
        store = await self._store()
        async with store.read() as conn:
            due = (await conn.execute(
                select(outbox.c.next_attempt_at).where(outbox.c.sent_at.is_(None), outbox.c.attempts < self.max_attempts)
                .order_by(outbox.c.next_attempt_at).limit(1)
            )).scalar_one_or_none()
        if due is None:
            return IDLE_POLL
        return max(0.05, min(IDLE_POLL, (due - self.clock()).total_seconds()))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                await self.run_once()
                if loop.time() - self._last_periodic >= self.period:
                    self._last_periodic = loop.time()
                    for job in self._periodic:
                        await job()
                wait = await self._next_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be briefly away; keep going
                log.exception("outbox worker pass failed; retrying in %g s", IDLE_POLL)
                wait = IDLE_POLL
            self.idle.set()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # arrives as the wait ends (CPython gh-86296), and stop() then waits forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self.idle.clear()
