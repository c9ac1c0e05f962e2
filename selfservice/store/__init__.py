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

Importing this package is free: SQLAlchemy and Alembic (about 0.7 s to import) load only
when one of these names is first used, so ``create_portal`` and the content pages never pay
for them. Feature modules: :mod:`.batch` (group commit), :mod:`.cases` (requests and their
timeline), :mod:`.feedback` (votes, surveys, suggestions), :mod:`.outbox` (mail and webhooks
written with the record), :mod:`.inbox` (the staff inbox's list and audit rows), :mod:`.desk`
(the lazily opened store and the services over it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import tables
    from .engine import WRITE_LOCK_TIMEOUT, Health, Store, database_url
    from .idempotency import Idempotent, forget_keys, idempotent
    from .schema import check_schema, current_revision, head_revision, open_store, upgrade
    from .upsert import upsert

_LAZY = {
    "WRITE_LOCK_TIMEOUT": "engine", "Health": "engine", "Store": "engine", "database_url": "engine",
    "Idempotent": "idempotency", "forget_keys": "idempotency", "idempotent": "idempotency",
    "check_schema": "schema", "current_revision": "schema", "head_revision": "schema",
    "open_store": "schema", "upgrade": "schema", "upsert": "upsert",
}

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


# Careful: importing the submodule ``selfservice.store.upsert`` directly (``from .upsert import
# upsert``) makes Python set this package's ``upsert`` attribute to that *module*, hiding the
# function. Inside the package write ``from . import upsert``, which comes through here.
def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name == "tables":
        value = importlib.import_module(".tables", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
