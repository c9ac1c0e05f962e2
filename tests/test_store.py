"""The store on both backends (SQLite file, real PostgreSQL): schema, transactions, durability."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from anyio.streams.text import TextReceiveStream
from sqlalchemy import Connection, Table, delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from selfservice.errors import SchemaBehindError, StoreError
from selfservice.store import (
    Idempotent,
    Store,
    check_schema,
    current_revision,
    database_url,
    engine,
    forget_keys,
    head_revision,
    idempotent,
    open_store,
    tables,
    upgrade,
    upsert,
)
from selfservice.store.schema import alembic_config

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def _request(reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "reference": reference, "kind": "complaint", "status": "new", "topic": "billing", "subject": "Charged twice",
        "message": "My card was charged twice for November.", "email": "ada@example.com", "locale": "en", **extra,
    }


async def _count(store: Store, table: Table) -> int:
    async with store.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


# -- schema and migrations ------------------------------------------------------------------------


async def test_upgrade_from_empty_builds_exactly_the_tables_module(store_url: str) -> None:
    assert await current_revision(store_url) is None
    await upgrade(store_url)
    await upgrade(store_url)  # a second run has nothing to do
    assert await current_revision(store_url) == head_revision()
    await check_schema(store_url)

    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, tables.metadata))

    async with Store(store_url) as store, store.read() as conn:
        assert set(tables.metadata.tables) <= set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert await conn.run_sync(differences) == []


async def test_empty_database_is_behind_and_says_what_to_do(store_url: str) -> None:
    with pytest.raises(SchemaBehindError, match=r"no selfservice tables yet.*run `selfservice db upgrade`"):
        await check_schema(store_url)
    with pytest.raises(SchemaBehindError, match="run `selfservice db upgrade`"):
        await open_store(store_url)
    if store_url.startswith("sqlite"):
        assert not Path(database_url(store_url).database or "").exists(), "checking must not create the file"


async def test_downgraded_database_is_behind_and_unknown_revision_is_refused(store: Store) -> None:
    async with store.write() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
    with pytest.raises(SchemaBehindError, match="run `selfservice db upgrade`"):
        await check_schema(store.url)
    await upgrade(store.url)
    async with store.write() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(StoreError, match="does not know") as info:
        await check_schema(store.url)
    assert not isinstance(info.value, SchemaBehindError)
    health = await store.healthcheck()
    assert not health.ok and health.revision == "f00d"


async def test_create_upgrades_an_embedded_sqlite_file_but_never_a_server(store_url: str, tmp_path: Path) -> None:
    if store_url.startswith("postgresql"):
        with pytest.raises(SchemaBehindError):
            await open_store(store_url, create=True)
        assert await current_revision(store_url) is None
        return
    nested = tmp_path / "a" / "b" / "portal.sqlite3"
    async with await open_store(f"sqlite:///{nested}", create=True) as store:
        assert store.url.drivername == "sqlite+aiosqlite"
        assert (await store.healthcheck()).ok
    assert nested.is_file()


def test_database_urls_pick_async_drivers_and_refuse_what_cannot_work() -> None:
    assert database_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert database_url("sqlite:///~/x.db").database == str(Path.home() / "x.db")
    assert database_url("postgres://u:p@h/db").drivername == "postgresql+asyncpg"
    assert database_url("postgresql+psycopg://u@h/db").drivername == "postgresql+asyncpg"
    for bad, message in [("sqlite://", "in-memory"), ("sqlite:///:memory:", "in-memory"),
                         ("mysql://u@h/db", "not supported"), ("nonsense", "not a database URL")]:
        with pytest.raises(StoreError, match=message):
            database_url(bad)


# -- transactions ---------------------------------------------------------------------------------


async def test_sqlite_connections_are_durable_wal_with_foreign_keys(tmp_path: Path) -> None:
    async with await open_store(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}", create=True) as store:
        async with store.read() as conn:
            pragmas = {name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                       for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    busy_ms = int(engine.WRITE_LOCK_TIMEOUT * 1000)
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": busy_ms}


async def test_write_holds_the_write_lock_from_its_first_moment(store: Store) -> None:
    async with store.write():
        if store.backend == "sqlite":
            other = sqlite3.connect(store.url.database or "", timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        else:
            async with store.read() as conn:
                held = await conn.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"))
            assert held == 1


async def test_a_writer_stuck_elsewhere_gives_a_store_error_not_a_hang(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "WRITE_LOCK_TIMEOUT", 0.05)  # read when a connection or write starts
    async with Store(store.url) as other, store.write():
        with pytest.raises(StoreError, match="held the write lock"):
            async with other.write() as conn:
                await conn.execute(insert(tables.requests).values(**_request("R-LATE")))


async def test_nested_write_is_refused_instead_of_deadlocking(store: Store) -> None:
    async with store.write():
        with pytest.raises(StoreError, match="inside another"):
            async with store.write():
                pass  # pragma: no cover


async def test_read_refuses_writes_on_both_backends(store: Store) -> None:
    with pytest.raises(StoreError, match=r"read-only.*inside Store.write\(\)"):
        async with store.read() as conn:
            await conn.execute(insert(tables.requests).values(**_request("R-READ")))
    async with store.write() as conn:  # the pooled connection is writable again
        await conn.execute(insert(tables.requests).values(**_request("R-WRITE")))
    assert await _count(store, tables.requests) == 1


async def test_exception_rolls_back_the_whole_write(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.write() as conn:
            await conn.execute(insert(tables.requests).values(**_request("R-ROLLBACK")))
            raise RuntimeError("boom")
    assert await _count(store, tables.requests) == 0


async def test_concurrent_read_then_write_loses_nothing(store: Store) -> None:
    """200 tasks over 4 stores (4 pools, so the database lock does the work) each read the
    count and insert the next reference; one interleaving would duplicate a reference."""
    stores = [store] + [await open_store(store.url) for _ in range(3)]

    async def allocate(s: Store) -> None:
        async with s.write() as conn:
            count = (await conn.execute(select(func.count()).select_from(tables.requests))).scalar_one()
            await conn.execute(insert(tables.requests).values(**_request(f"R{count + 1:06d}")))

    try:
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(allocate, stores[i % len(stores)])
    finally:
        for extra in stores[1:]:
            await extra.close()
    async with store.read() as conn:
        references = (await conn.execute(select(tables.requests.c.reference).order_by(tables.requests.c.id))).scalars()
        assert list(references) == [f"R{n:06d}" for n in range(1, 201)]


async def test_run_write_keeps_the_write_contract(store: Store) -> None:
    """Synchronous work (SQLite: on the writer thread) commits, rolls back when it raises,
    interleaves with write() without losing a read-then-write, and refuses nesting."""

    def allocate(conn: Connection) -> str:
        count = conn.execute(select(func.count()).select_from(tables.requests)).scalar_one()
        conn.execute(insert(tables.requests).values(**_request(f"R{count + 1:06d}")))
        return f"R{count + 1:06d}"

    async def allocate_async() -> None:
        async with store.write() as conn:
            count = (await conn.execute(select(func.count()).select_from(tables.requests))).scalar_one()
            await conn.execute(insert(tables.requests).values(**_request(f"R{count + 1:06d}")))

    assert await store.run_write(allocate) == "R000001"

    def fail(conn: Connection) -> None:
        conn.execute(insert(tables.requests).values(**_request("R-ROLLBACK")))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.run_write(fail)
    async with anyio.create_task_group() as tg:
        for i in range(60):
            tg.start_soon(store.run_write, allocate) if i % 2 else tg.start_soon(allocate_async)
    async with store.read() as conn:
        references = (await conn.execute(select(tables.requests.c.reference).order_by(tables.requests.c.id))).scalars()
        assert list(references) == [f"R{n:06d}" for n in range(1, 62)]
    async with store.write():
        with pytest.raises(StoreError, match="inside"):
            await store.run_write(allocate)


# -- round trips ----------------------------------------------------------------------------------

PARIS = timezone(timedelta(hours=1))

ROWS: dict[str, dict[str, Any]] = {
    "search_events": {"created_at": NOW, "query_norm": "reset password", "locale": "en", "result_count": 0,
                      "zero_results": True, "clicked_slug": "reset-your-password", "clicked_rank": 2,
                      "session_hash": "9f" * 16},
    "votes": {"created_at": NOW, "updated_at": NOW, "page_kind": "article", "page_slug": "refunds",
              "visitor_hash": "ab" * 16, "helpful": False, "reason": "outdated", "comment": "Prices changed ✓"},
    "surveys": {"created_at": NOW, "kind": "nps", "score": 0, "comment": None,
                "context": {"page": "/help/refunds", "tags": ["billing", "ünïcode"], "n": 1.5}},
    "requests": _request("C-2026-000001", created_at=NOW.astimezone(PARIS), acknowledged_at=NOW,
                         due_at=NOW + timedelta(days=8), order_ref="ORD-9", assignee=None, satisfaction=4),
    "outbox": {"created_at": NOW, "kind": "webhook",
               "payload": {"url": "https://example.com/h", "body": {"a": [1, None]}}, "attempts": 3,
               "next_attempt_at": NOW, "sent_at": None, "last_error": "503 Service Unavailable"},
    "audit_log": {"created_at": NOW, "actor": "staff:grace", "action": "request.close", "target": "C-2026-000001",
                  "outcome": "ok", "details": {"from": "open", "to": "closed"}},
    "idempotency_keys": {"key": "k" * 128, "created_at": NOW, "scope": "contact", "result_ref": "C-2026-000001"},
}


@pytest.mark.parametrize("name", [*ROWS, "request_events"])
async def test_each_table_round_trips(store: Store, name: str) -> None:
    table = tables.metadata.tables[name]
    row = dict(ROWS.get(name, {}))
    async with store.write() as conn:
        if name == "request_events":
            new = insert(tables.requests).values(**_request("C-1")).returning(tables.requests.c.id)
            row = {"request_id": (await conn.execute(new)).scalar_one(), "created_at": NOW, "kind": "reply",
                   "author": "staff", "status": "waiting", "body": "We have refunded the second charge.",
                   "internal": False}
        await conn.execute(insert(table).values(**row))
    async with store.read() as conn:
        stored = dict((await conn.execute(select(table))).mappings().one())
    stored.pop("id", None)
    assert stored == {column.name: row.get(column.name) for column in table.columns if column.name != "id"}
    for value in stored.values():
        if isinstance(value, datetime):
            assert value.tzinfo is UTC


async def test_naive_datetimes_and_out_of_range_scores_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with store.write() as conn:
            await conn.execute(insert(tables.audit_log).values(
                created_at=datetime(2026, 1, 1), actor="a", action="b", target="c", outcome="ok", details={}))
    for kind, score in [("nps", 11), ("csat", 0)]:
        with pytest.raises(IntegrityError):
            async with store.write() as conn:
                await conn.execute(insert(tables.surveys).values(kind=kind, score=score, context={}))


async def test_deleting_a_request_deletes_its_timeline(store: Store) -> None:
    async with store.write() as conn:
        new = insert(tables.requests).values(**_request("C-9")).returning(tables.requests.c.id)
        request_id = (await conn.execute(new)).scalar_one()
        await conn.execute(insert(tables.request_events).values(request_id=request_id, kind="note", author="system"))
    async with store.write() as conn:
        await conn.execute(delete(tables.requests).where(tables.requests.c.id == request_id))
    assert await _count(store, tables.request_events) == 0
    with pytest.raises(IntegrityError):
        async with store.write() as conn:
            await conn.execute(insert(tables.request_events).values(request_id=12345, kind="note", author="system"))


async def test_a_visitor_changes_their_vote_with_upsert(store: Store) -> None:
    key = ("page_kind", "page_slug", "visitor_hash")
    vote = {"page_kind": "article", "page_slug": "refunds", "visitor_hash": "v1"}
    first = datetime(2020, 1, 1, tzinfo=UTC)
    async with store.write() as conn:
        await upsert(conn, tables.votes, {**vote, "helpful": True, "created_at": first, "updated_at": first},
                     key=key, update=("helpful", "reason"))
    async with store.write() as conn:
        changed = {**vote, "helpful": False, "reason": "unclear"}
        await upsert(conn, tables.votes, changed, key=key, update=("helpful", "reason"))
    async with store.read() as conn:
        row = (await conn.execute(select(tables.votes))).mappings().one()
    assert (row["helpful"], row["reason"]) == (False, "unclear")
    assert row["created_at"] == first < row["updated_at"], "a change keeps created_at and moves updated_at"
    async with store.write() as conn:  # another visitor is another row
        await upsert(conn, tables.votes, {**vote, "visitor_hash": "v2", "helpful": True}, key=key, update=("helpful",))
    assert await _count(store, tables.votes) == 2


# -- idempotency ----------------------------------------------------------------------------------


async def test_double_submits_race_to_one_record(store: Store) -> None:
    """50 concurrent submits of one form token over two stores: one record, one reference."""
    other = await open_store(store.url)
    created = 0

    async def create(conn: AsyncConnection) -> str:
        nonlocal created
        created += 1
        count = (await conn.execute(select(func.count()).select_from(tables.requests))).scalar_one()
        await conn.execute(insert(tables.requests).values(**_request(f"C-{count + 1}")))
        return f"C-{count + 1}"

    results: list[Idempotent] = []

    async def submit(s: Store) -> None:
        results.append(await idempotent(s, "token-1", "complaint", create))

    try:
        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(submit, (store, other)[i % 2])
    finally:
        await other.close()
    assert {r.ref for r in results} == {"C-1"}
    assert sum(r.created for r in results) == 1 == created
    assert await _count(store, tables.requests) == 1
    with pytest.raises(StoreError, match="already used for 'complaint'"):
        await idempotent(store, "token-1", "contact", create)


async def test_a_failed_create_leaves_no_key_so_the_customer_can_retry(store: Store) -> None:
    async def broken(conn: AsyncConnection) -> str:
        await conn.execute(insert(tables.requests).values(**_request("C-LOST")))
        raise RuntimeError("mail server down")

    async def works(conn: AsyncConnection) -> str:
        await conn.execute(insert(tables.requests).values(**_request("C-OK")))
        return "C-OK"

    with pytest.raises(RuntimeError):
        await idempotent(store, "token-2", "contact", broken)
    assert (await idempotent(store, "token-2", "contact", works)).created
    assert await _count(store, tables.requests) == 1
    assert await forget_keys(store, before=datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await _count(store, tables.idempotency_keys) == 0


# -- health and durability ------------------------------------------------------------------------


async def test_healthcheck_reports_instead_of_raising(store: Store, tmp_path: Path) -> None:
    health = await store.healthcheck()
    assert health.ok and health.revision == head_revision() and health.error is None
    async with Store(f"sqlite:///{tmp_path / 'empty.sqlite3'}", expected_revision=head_revision()) as empty:
        health = await empty.healthcheck()
    assert not health.ok and "selfservice db upgrade" in (health.error or "")
    with anyio.fail_after(5):
        async with Store("postgresql://nobody:secret@127.0.0.1:1/none") as unreachable:
            health = await unreachable.healthcheck()
    assert not health.ok and "cannot be read" in (health.error or "") and "secret" not in (health.error or "")


_WRITER = """
import asyncio, sys
from sqlalchemy import insert
from selfservice.store import open_store, tables

async def main(url):
    store = await open_store(url)
    n = 0
    while True:
        n += 1
        async with store.write() as conn:
            await conn.execute(insert(tables.audit_log).values(
                id=n, actor="writer", action="tick", target=str(n), outcome="ok", details={}))
        print(n, flush=True)  # acknowledged: the commit returned

asyncio.run(main(sys.argv[1]))
"""


async def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """The durability promise of the embedded SQLite store: once ``write()`` returns, the row
    survives the process being killed. (On PostgreSQL the server acknowledges the COMMIT,
    so killing our process cannot lose it; what survives a power cut there is the server's
    own fsync settings, which these throwaway test servers turn off.)"""
    url = f"sqlite+aiosqlite:///{tmp_path / 'killed.sqlite3'}"
    acknowledged: list[int] = []
    output = ""
    async with await open_store(url, create=True) as store:
        with anyio.fail_after(20):
            command_line = [sys.executable, "-c", _WRITER, url]
            async with await anyio.open_process(command_line, stderr=subprocess.STDOUT) as writer:
                assert writer.stdout is not None
                async for chunk in TextReceiveStream(writer.stdout):
                    output += chunk
                    acknowledged = [int(n) for n in output.splitlines()[:-1] if n.isdigit()]
                    if len(acknowledged) >= 50 or "Error" in output:
                        break
                writer.kill()  # SIGKILL: no cleanup, no atexit, no final flush
                await writer.wait()
        assert len(acknowledged) >= 50, output
        async with store.read() as conn:
            stored = set((await conn.execute(select(tables.audit_log.c.id))).scalars())
        assert set(acknowledged) <= stored
        async with store.write() as conn:  # still writable: no stale lock left behind
            await conn.execute(update(tables.audit_log).values(outcome="checked"))
