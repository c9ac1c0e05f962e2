"""The one durable store for customer input, and the one place SQL lives.

Everything a customer submits — searches, votes, surveys, contact requests and complaints,
plus the outbox, audit log and idempotency keys — goes through a :class:`Store`::

    store = await open_store(settings.db_url, create=settings.demo)
    async with store.write() as conn:            # the only writer until the block ends
        await conn.execute(insert(tables.votes).values(...))
    async with store.read() as conn:             # one consistent snapshot
        rows = (await conn.execute(select(tables.requests))).all()
    await store.close()

Modules: :mod:`.engine` (connecting, transactions, durability), :mod:`.tables` (the schema),
:mod:`.schema` (Alembic migrations run from code), :mod:`.idempotency` (double submits),
:mod:`.upsert` (insert-or-update on both dialects).
"""

from __future__ import annotations

from . import tables
from .engine import WRITE_LOCK_TIMEOUT, Health, Store, database_url
from .idempotency import Idempotent, forget_keys, idempotent
from .schema import check_schema, current_revision, head_revision, open_store, upgrade
from .upsert import upsert

__all__ = [
    "WRITE_LOCK_TIMEOUT",
    "Health",
    "Idempotent",
    "Store",
    "check_schema",
    "current_revision",
    "database_url",
    "forget_keys",
    "head_revision",
    "idempotent",
    "open_store",
    "tables",
    "upgrade",
    "upsert",
]
