"""Group commit: many small writes share one transaction and one fsync, each acknowledged
only after that commit.

SQLite's ``synchronous=FULL`` (see :mod:`.engine`) costs one fsync per transaction, a few
milliseconds on most disks: one transaction per vote would cap the portal at a few hundred
writes a second however fast the rest is. :class:`GroupCommit` queues the writes that arrive
while a commit is in flight and runs them together in the next :meth:`Store.write`
transaction, so a burst of 64 votes costs one fsync instead of 64. Nothing waits on a timer:
the first write of a quiet moment commits at once, alone.

The promise to callers is unchanged: ``await group.run(work)`` returns only after the
transaction holding ``work`` committed, and raises if it did not. If one ``work`` raises,
the batch is rolled back and every item is re-run in a transaction of its own, so one bad
write fails alone and the others still commit; ``work`` must therefore be safe to run more
than once (only the committed run counts). It runs inside ``Store.write()``, so it may read
then write without races, but must not open ``write()`` itself.

A :class:`Bulk` work goes further: all works of the same ``kind`` in a batch are handed to its
``many`` function together, which writes them with one multi-row statement (votes: one
``INSERT … ON CONFLICT … RETURNING`` for the whole batch instead of two statements each).
``many`` is plain synchronous SQLAlchemy, so a batch of nothing but Bulk works is one
:meth:`Store.run_write` — on SQLite the whole transaction in one hand-off to the writer
thread instead of ~10 through aiosqlite; a mixed batch runs them with ``run_sync``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Store

__all__ = ["Bulk", "GroupCommit", "Work"]

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[Any]]


@dataclass(frozen=True)
class Bulk:
    """A write that shares one statement with the other ``kind`` writes of its batch.

    ``many(conn, [args, …])`` — synchronous, on a SQLAlchemy ``Connection`` — returns one
    result per args, in order; it is called with the ``many`` of the first work of the kind.
    Alone, a Bulk is an ordinary work.
    """

    kind: Hashable
    args: Any
    many: Callable[[Connection, list[Any]], list[Any]]

    async def __call__(self, conn: AsyncConnection) -> Any:
        return (await conn.run_sync(self.many, [self.args]))[0]


def _bulk_groups(works: list[Work]) -> dict[Hashable, list[int]]:
    groups: dict[Hashable, list[int]] = {}
    for i, work in enumerate(works):
        if isinstance(work, Bulk):
            groups.setdefault(work.kind, []).append(i)
    return groups


async def _run_all(conn: AsyncConnection, works: list[Work]) -> list[Any]:
    results: list[Any] = [None] * len(works)
    groups = _bulk_groups(works)
    done: set[Hashable] = set()
    for i, work in enumerate(works):
        if not isinstance(work, Bulk):
            results[i] = await work(conn)
        elif work.kind not in done:
            done.add(work.kind)
            members = groups[work.kind]
            answers = await conn.run_sync(work.many, [works[j].args for j in members])  # type: ignore[attr-defined]
            for j, answer in zip(members, answers, strict=True):
                results[j] = answer
    return results


def _run_bulks(conn: Connection, works: list[Bulk]) -> list[Any]:
    """:func:`_run_all` for a batch of Bulk works only, inside :meth:`Store.run_write`."""
    results: list[Any] = [None] * len(works)
    for members in _bulk_groups(list(works)).values():
        answers = works[members[0]].many(conn, [works[j].args for j in members])
        for j, answer in zip(members, answers, strict=True):
            results[j] = answer
    return results


class GroupCommit:
    """Batches :meth:`run` calls of one event loop into shared write transactions."""

    def __init__(self, store: Store, *, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0  # transactions committed: for tests and the benchmark

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work(conn)`` in a write transaction; return its result once committed."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_all())
        # A caller that gives up (client disconnected) cancels only its future, never the batch:
        # the flusher is its own task and skips futures that are already done.
        return await future

    async def _flush_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._flush(batch)
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            for _, future in self._queue:
                _settle(future, exc=exc)
            self._queue.clear()
            raise

    async def _flush(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        works = [work for work, _ in batch]
        bulks = [work for work in works if isinstance(work, Bulk)]
        try:
            if len(bulks) == len(works):
                results = await self.store.run_write(functools.partial(_run_bulks, works=bulks))
            else:
                async with self.store.write() as conn:
                    results = await _run_all(conn, works)
        except BaseException as exc:
            if len(batch) == 1 or not isinstance(exc, Exception):
                for _, future in batch:
                    _settle(future, exc=exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for item in batch:  # isolate the failure: each on its own
                await self._flush([item])
            return
        self.commits += 1
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future[Any], *, result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(result)
    elif isinstance(exc, Exception):
        future.set_exception(exc)
    else:  # the flusher itself was cancelled (shutdown): so is the write
        future.cancel()
