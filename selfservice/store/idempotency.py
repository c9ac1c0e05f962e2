"""Double-submit protection: the same form token twice gives the first result, one record.

A form carries a random key; :func:`idempotent` claims it in ``idempotency_keys`` *in the
same transaction* that creates the record. The primary key on ``key`` is what makes it
race-safe, not a look-before-insert: of two concurrent submits, one commits its claim and
record, the other's claim fails with ``IntegrityError``, its transaction (and any record it
had started) rolls back, and it returns the winner's ``result_ref``. A committed key
therefore always has its result, and a failed ``create`` leaves no key behind, so the
customer can simply submit again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..errors import StoreError
from .engine import Store
from .tables import idempotency_keys, utcnow

__all__ = ["Idempotent", "claim_key", "forget_keys", "idempotent", "settle_key"]

_ATTEMPTS = 3
_MAX_KEY = 128  # idempotency_keys.key is String(128)


class Idempotent(NamedTuple):
    """The result of :func:`idempotent`: ``created`` is False when this was a repeat."""

    ref: str
    created: bool


class _Claimed(Exception):
    """Another submit already holds the key; unwinds our transaction."""


async def idempotent(
    store: Store, key: str, scope: str, create: Callable[[AsyncConnection], Awaitable[str]]
) -> Idempotent:
    """Run ``create(conn)`` once per ``key``; it writes the record and returns its reference.

    ``scope`` names the form ("contact", "complaint", …): a key reused for another form is
    a :class:`StoreError`, never silently the other form's result.
    """
    if not key or len(key) > _MAX_KEY:
        raise StoreError(f"idempotency key must be 1-{_MAX_KEY} characters, got {len(key)}")
    for _ in range(_ATTEMPTS):
        try:
            async with store.write() as conn:
                try:
                    await conn.execute(insert(idempotency_keys).values(key=key, scope=scope, created_at=utcnow()))
                except IntegrityError:
                    raise _Claimed from None
                ref = await create(conn)
                await conn.execute(update(idempotency_keys).where(idempotency_keys.c.key == key).values(result_ref=ref))
                return Idempotent(ref, created=True)
        except _Claimed:
            pass
        async with store.read() as conn:
            row = (await conn.execute(
                select(idempotency_keys.c.scope, idempotency_keys.c.result_ref).where(idempotency_keys.c.key == key)
            )).one_or_none()
        if row is None:
            continue  # the key was forgotten between our two transactions; claim it afresh
        if row.scope != scope:
            raise StoreError(f"idempotency key {key!r} was already used for {row.scope!r}, not {scope!r}; "
                             "generate a fresh key for every form")
        return Idempotent(row.result_ref, created=False)
    raise StoreError(f"idempotency key {key!r} kept changing hands; try the submit again")


async def claim_key(conn: AsyncConnection, key: str, scope: str) -> Idempotent | None:
    """Inside a ``Store.write()`` (or a :class:`~.batch.GroupCommit` work): claim ``key``.

    Returns ``None`` when the key is new (create the record, then :func:`settle_key`), or
    the earlier result when it was used before. No race: ``write()`` is the only writer, so
    looking before inserting is safe here, unlike in :func:`idempotent`'s own transactions.
    """
    if not key or len(key) > _MAX_KEY:
        raise StoreError(f"idempotency key must be 1-{_MAX_KEY} characters, got {len(key)}")
    row = (await conn.execute(
        select(idempotency_keys.c.scope, idempotency_keys.c.result_ref).where(idempotency_keys.c.key == key)
    )).one_or_none()
    if row is None:
        await conn.execute(insert(idempotency_keys).values(key=key, scope=scope, created_at=utcnow()))
        return None
    if row.scope != scope:
        raise StoreError(f"idempotency key {key!r} was already used for {row.scope!r}, not {scope!r}; "
                         "generate a fresh key for every form")
    return Idempotent(row.result_ref, created=False)


async def settle_key(conn: AsyncConnection, key: str, ref: str) -> Idempotent:
    """Record the result of a key claimed with :func:`claim_key` (same transaction)."""
    await conn.execute(update(idempotency_keys).where(idempotency_keys.c.key == key).values(result_ref=ref))
    return Idempotent(ref, created=True)


async def forget_keys(store: Store, before: datetime) -> int:
    """Delete keys created before ``before`` (a day is plenty); returns how many went."""
    async with store.write() as conn:
        result = await conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < before))
        return result.rowcount
