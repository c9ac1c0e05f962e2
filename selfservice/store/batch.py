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
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import Store

__all__ = ["GroupCommit", "Work"]

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[Any]]


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
        # shield: a caller that gives up (client disconnected) must not cancel the batch.
        return await asyncio.shield(future)  # type: ignore[no-any-return]

    async def _flush_all(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._flush(batch)
        except BaseException as exc:  # cancelled at shutdown: nobody may wait forever
            for _, future in self._queue:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("store closed"))
            self._queue.clear()
            raise

    async def _flush(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            async with self.store.write() as conn:
                for work, _ in batch:
                    results.append(await work(conn))
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
    else:
        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the write was cancelled"))
