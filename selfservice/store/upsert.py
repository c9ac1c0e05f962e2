"""Insert a row, or update it when its unique key already exists, in one statement.

Both SQLite and PostgreSQL spell this ``INSERT … ON CONFLICT (…) DO UPDATE``, but
SQLAlchemy builds it with each dialect's own ``insert()``; this picks the right one from the
connection so feature code (a visitor changing their vote) stays dialect-free. One
statement, so there's no window between "is it there?" and "insert it".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import StoreError

__all__ = ["upsert"]


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str],
    returning: Sequence[str] = (),
) -> Any:
    """Insert ``values`` into ``table``; if a row with the same ``key`` columns exists, set
    its ``update`` columns from ``values`` instead (plus any column ``onupdate`` defaults).

    With ``returning`` column names, returns that row (inserted or updated) as a ``Row``."""
    name = conn.dialect.name
    if name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        changes = {column: pg.excluded[column] for column in update}
        statement: Any = pg.on_conflict_do_update(index_elements=list(key), set_=_with_onupdate(table, changes))
    elif name == "sqlite":
        lite = sqlite.insert(table).values(**values)
        changes = {column: lite.excluded[column] for column in update}
        statement = lite.on_conflict_do_update(index_elements=list(key), set_=_with_onupdate(table, changes))
    else:  # pragma: no cover - Store only opens these two
        raise StoreError(f"upsert is not implemented for the {name!r} database")
    if returning:
        return (await conn.execute(statement.returning(*(table.c[c] for c in returning)))).one()
    await conn.execute(statement)
    return None


def _with_onupdate(table: Table, changes: dict[str, Any]) -> dict[str, Any]:
    # ON CONFLICT DO UPDATE skips Python-side onupdate defaults (votes.updated_at); add them.
    for column in table.columns:
        default: Any = column.onupdate
        if default is None or column.name in changes:
            continue
        # A callable (SQLAlchemy wraps it to take an execution context) or a scalar/SQL value.
        changes[column.name] = default.arg(None) if default.is_callable else default.arg
    return changes
