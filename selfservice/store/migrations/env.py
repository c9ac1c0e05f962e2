"""Alembic's entry point for selfservice migrations.

Migrations only run through :func:`selfservice.store.upgrade` (``selfservice db upgrade``),
which opens a :meth:`~selfservice.store.Store.write` transaction and hands its connection in
``config.attributes["connection"]``; so the upgrade holds the write lock and is one
transaction. There is no ``alembic.ini`` and no URL here on purpose.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from selfservice.store.tables import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite can't ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or _connection is None:
    raise RuntimeError(
        "selfservice migrations run through `selfservice db upgrade` or selfservice.store.upgrade(url), "
        "not the alembic command"
    )
run_migrations(_connection)
