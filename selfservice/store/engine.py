"""Connecting to the database and the two ways to use it: ``Store.write()`` and ``Store.read()``.

The contract, identical on both backends, is what feature code relies on:

* ``write()`` is the **only writer** while its block runs. Read-then-write (allocate the
  next reference, check-then-insert) is therefore safe without thinking about isolation
  levels. Leaving the block without an exception means the transaction is committed and
  durable ("acknowledged"); an exception rolls everything back.
* ``read()`` sees one consistent snapshot for the whole block.

How each backend keeps it:

SQLite (``sqlite+aiosqlite:///path``, the embedded default)
    Journal ``WAL`` so readers never block the writer and vice versa. ``synchronous=FULL``:
    every commit fsyncs the WAL before ``write()`` returns. ``NORMAL`` would already survive
    ``kill -9`` (the WAL is in the OS page cache when COMMIT returns), but a power cut or
    kernel panic could roll back the last commits — and a complaint whose reference number
    the customer already holds must not vanish. The cost is one fsync per write transaction,
    small next to the rate customers submit forms. The driver's own transaction handling is
    switched off (``isolation_level = None``) and we emit ``BEGIN IMMEDIATE`` for writes (the
    SQLAlchemy recipe for pysqlite/aiosqlite): a plain deferred ``BEGIN`` takes the write lock
    only at the first write, so two read-then-write transactions interleave and one fails or
    overwrites the other — exactly how 1,507 of 1,800 concurrent writes were lost. Reads use
    ``BEGIN DEFERRED``. ``busy_timeout`` lets other processes wait for the lock instead of
    failing; foreign keys are on.

PostgreSQL (``postgresql+asyncpg://…``)
    Writes run at ``READ COMMITTED`` and start by taking one transaction-scoped advisory
    lock (waiting at most ``WRITE_LOCK_TIMEOUT``, like SQLite's ``busy_timeout``), so writers
    queue exactly as on SQLite, across processes too. (The lock must be the
    first statement: under ``REPEATABLE READ`` the snapshot would be taken before the lock is
    granted and the read-then-write would read stale data.) Reads are ``REPEATABLE READ``,
    ``READ ONLY``. (On SQLite ``PRAGMA query_only`` does the same: writing inside ``read()``
    is a :class:`StoreError` on both.)

Within one process, writers also queue on an ``asyncio.Lock`` so they wait without holding a
pooled connection or spinning on the database lock.

:meth:`Store.run_write` is ``write()`` for plain synchronous SQLAlchemy code (a
``Connection``, not an ``AsyncConnection``). On SQLite it runs the whole transaction on one
writer thread with a synchronous pysqlite connection (same pragmas, same ``BEGIN
IMMEDIATE``, same ``synchronous=FULL`` commit): one hand-off between threads per
transaction. Through aiosqlite every statement is three or four (open a cursor, execute,
fetch, close), about ten per small transaction, each costing ~0.1–0.4 ms on a busy machine
— more than the fsync. The group commit of votes (:mod:`.batch`) uses it. On PostgreSQL it
is ``write()`` plus ``run_sync`` (asyncpg has no thread to hand off to). Don't open ``write()`` inside ``write()``:
the inner one could never get the lock, so it raises :class:`StoreError` at once instead of
deadlocking.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from ..errors import StoreError

__all__ = ["WRITE_LOCK_TIMEOUT", "Health", "Store", "database_url", "sqlite_path"]

Backend = Literal["sqlite", "postgresql"]
T = TypeVar("T")

WRITE_LOCK_TIMEOUT = 10.0
"""Seconds a writer waits for another process's write lock before :class:`StoreError`."""

CLOSE_GRACE = 2.0
"""Seconds :meth:`Store.close` waits for connections still in use to be handed back."""

# Any fixed 64-bit number works; it only has to be the same in every process.
_PG_WRITE_LOCK = 0x5E1F_5E7C_0000_0001
_WRITE_OPTION = "selfservice_write"
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:key) FROM (SELECT set_config('lock_timeout', :t, true)) AS timeout")

# The store whose write() the current task is inside, to refuse nesting.
_writing: contextvars.ContextVar[Store | None] = contextvars.ContextVar("selfservice_store_writing", default=None)


def database_url(url: str | URL) -> URL:
    """Parse a database URL and pick the async driver: ``sqlite://`` → aiosqlite,
    ``postgres(ql)://`` → asyncpg. Anything else is a :class:`StoreError` naming what works."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"{url!r} is not a database URL; use sqlite+aiosqlite:///path/to/file.sqlite3 "
                         "or postgresql+asyncpg://user:password@host/dbname") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or "mode=memory" in str(parsed):
            raise StoreError(
                f"{parsed.render_as_string()}: an in-memory SQLite database is lost on restart and is not "
                "shared between connections; give a file path, e.g. sqlite+aiosqlite:///data/selfservice.sqlite3"
            )
        database = parsed.database
        if database.startswith("~"):
            database = str(Path(database).expanduser())
        return parsed.set(drivername="sqlite+aiosqlite", database=database)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise StoreError(
        f"{parsed.render_as_string()}: the {backend!r} database is not supported; use SQLite "
        "(sqlite+aiosqlite:///path) or PostgreSQL (postgresql+asyncpg://…)"
    )


def sqlite_path(url: URL) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for a server database."""
    if url.get_backend_name() != "sqlite" or url.database is None:
        return None
    return Path(url.database)


@dataclass(frozen=True)
class Health:
    """What :meth:`Store.healthcheck` found; ``ok`` is what a load balancer needs."""

    ok: bool
    backend: Backend
    revision: str | None
    latency_ms: float
    error: str | None = None


def _sqlite_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Take BEGIN away from the driver; _sqlite_on_begin emits our own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching a fresh file to WAL needs the lock briefly.
        cursor.execute(f"PRAGMA busy_timeout = {int(WRITE_LOCK_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        mode = cursor.fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise StoreError(
                f"SQLite refused write-ahead logging (journal_mode is {mode!r}); the database file must be "
                "on a local disk, not a network share"
            )
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    write = bool(conn.get_execution_options().get(_WRITE_OPTION))
    # query_only makes a write inside read() fail at once, as READ ONLY does on PostgreSQL,
    # instead of failing only under load (a deferred reader cannot always upgrade to writer).
    # It sticks to the pooled connection, so only switch it when the mode changes.
    # (SQLAlchemy clears .info whenever it reconnects.)
    info, read_only = conn.connection.info, not write
    if info.get("query_only") != read_only:
        conn.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")
        info["query_only"] = read_only
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": WRITE_LOCK_TIMEOUT})
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    try:
        # pre_ping: a pooled connection may have been cut by a server restart or failover.
        return create_async_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise StoreError(f"PostgreSQL needs the asyncpg driver ({exc}); pip install 'selfservice[postgres]'") from exc


def _create_sync_writer(url: URL) -> Engine:
    """The synchronous engine :meth:`Store.run_write` uses on SQLite (on its writer thread only)."""
    engine = create_engine(url.set(drivername="sqlite+pysqlite"),
                           connect_args={"timeout": WRITE_LOCK_TIMEOUT, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _read_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


class Store:
    """The database holding all customer input. Build it with :func:`open_store`.

    ``expected_revision`` is the schema revision this code needs; :meth:`healthcheck`
    reports unhealthy when the database is at another one.
    """

    def __init__(self, url: str | URL, *, expected_revision: str | None = None) -> None:
        self.url = database_url(url)
        self.backend: Backend = "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"
        self.expected_revision = expected_revision
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = _create_engine(self.url)
        self._write_lock = asyncio.Lock()
        self._sync_engine: Engine | None = None  # SQLite: run_write()'s engine, on its writer thread
        self._writer: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"<Store {self.display_url}>"

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction; you are the only writer until the block ends."""
        if _writing.get() is self:
            raise StoreError("Store.write() was opened inside another Store.write(); use the outer connection")
        token = _writing.set(self)
        try:
            async with self._write_lock, self._translated("written"):
                async with self.engine.connect() as conn:
                    if self.backend == "sqlite":
                        await conn.execution_options(**{_WRITE_OPTION: True})
                    else:
                        await conn.execution_options(isolation_level="READ COMMITTED")
                    async with conn.begin():
                        if self.backend == "postgresql":
                            # One round trip: the FROM subquery (the timeout) is evaluated before
                            # the lock is asked for (a volatile subquery is never pulled up).
                            timeout = f"{int(WRITE_LOCK_TIMEOUT * 1000)}ms"
                            await conn.execute(_PG_LOCK, {"t": timeout, "key": _PG_WRITE_LOCK})
                        yield conn
        finally:
            _writing.reset(token)

    async def run_write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` — synchronous SQLAlchemy code — in one write transaction, with
        :meth:`write`'s contract: the only writer meanwhile; committed and durable when it
        returns, rolled back if it raises. On SQLite the transaction runs on the store's
        writer thread, in one hand-off (module docs); it must not touch the event loop."""
        if self.backend != "sqlite":
            async with self.write() as conn:
                return await conn.run_sync(work)
        if _writing.get() is self:
            raise StoreError("Store.run_write() was called inside Store.write(); use the outer connection")
        token = _writing.set(self)
        try:
            async with self._write_lock, self._translated("written"):
                if self._writer is None:
                    self._writer = ThreadPoolExecutor(1, thread_name_prefix="selfservice-writer")
                    self._sync_engine = _create_sync_writer(self.url)
                done = asyncio.get_running_loop().run_in_executor(self._writer, self._write_now, work)
                try:
                    return await asyncio.shield(done)
                except asyncio.CancelledError:
                    # The transaction goes on in the writer thread: keep the lock until it ends.
                    await asyncio.wait([done])
                    raise
        finally:
            _writing.reset(token)

    def _write_now(self, work: Callable[[Connection], T]) -> T:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                return work(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction that sees one snapshot throughout."""
        async with self._translated("read"):
            async with self.engine.connect() as conn:
                if self.backend == "postgresql":
                    await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                async with conn.begin():
                    yield conn

    async def revision(self) -> str | None:
        """The schema revision the database is at (``None``: no selfservice tables yet)."""
        async with self.read() as conn:
            return await conn.run_sync(_read_revision)

    async def healthcheck(self, timeout: float = 5.0) -> Health:
        """Read the schema revision within ``timeout`` seconds.

        Never raises (a failure is ``ok=False`` with the reason in ``error``), so a
        ``/healthz`` view can report it without its own error handling; the reason may name
        the host and database, so show it to staff, not to the public.
        """
        start = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                revision = await self.revision()
        except TimeoutError:
            return Health(False, self.backend, None, _ms_since(start), f"no answer from the database in {timeout:g} s")
        except Exception as exc:  # noqa: BLE001 - reporting, not handling: see the docstring
            return Health(False, self.backend, None, _ms_since(start), str(exc) or type(exc).__name__)
        error = None
        if self.expected_revision is not None and revision != self.expected_revision:
            error = (f"schema is at {revision}, this version needs {self.expected_revision}; "
                     "run `selfservice db upgrade`")
        return Health(error is None, self.backend, revision, _ms_since(start), error)

    async def close(self) -> None:
        """Close every pooled connection: call it at shutdown so SQLite checkpoints its WAL.

        Connections still checked out are waited for (up to ``CLOSE_GRACE`` seconds) first:
        a task cancelled at shutdown hands its connection back from a shielded close a moment
        after the task itself ends, and a connection handed back to a pool that was already
        disposed would never be closed.
        """
        pool: Any = self.engine.pool
        checked_out = getattr(pool, "checkedout", lambda: 0)
        deadline = time.monotonic() + CLOSE_GRACE
        while checked_out() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        writer, sync_engine, self._writer, self._sync_engine = self._writer, self._sync_engine, None, None
        if writer is not None and sync_engine is not None:
            await asyncio.get_running_loop().run_in_executor(writer, sync_engine.dispose)
            writer.shutdown(wait=False)
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _translated(self, verb: str) -> AsyncIterator[None]:
        """Turn "cannot reach / locked / disk" driver errors into one StoreError that says what to do.

        Constraint violations (``IntegrityError``) pass through: callers handle those.
        """
        try:
            yield
        except IntegrityError:
            raise
        except (DBAPIError, OSError) as exc:
            detail = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
            where = f"database {self.display_url} cannot be {verb}"
            if verb == "read" and ("readonly" in detail or "read-only" in detail):
                raise StoreError(f"Store.read() is read-only ({detail}); write inside Store.write()") from exc
            if "locked" in detail or "lock timeout" in detail:
                raise StoreError(
                    f"{where}: another process held the write lock for more than {WRITE_LOCK_TIMEOUT:g} s; try again"
                ) from exc
            if isinstance(exc, DBAPIError) and not isinstance(exc, (OperationalError, InterfaceError)):
                raise  # a bug in the statement (ProgrammingError, DataError…), not the database's state
            raise StoreError(f"{where}: {detail}; check Settings.database_url and that it is reachable") from exc


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
