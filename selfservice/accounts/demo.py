"""A demo :class:`AccountBackend` on the portal's own store, with seeded demo customers.

``selfservice serve`` (demo mode) uses it so every account page works out of the box; it is
also the reference implementation a host can read before writing an adapter for its own
user store. Passwords are hashed with scrypt from the standard library
(``scrypt$n$r$p$salt$hash``), checked in a worker thread so hashing never blocks the loop.

Demo customers (password ``larkspur-demo-2026`` for all of them): ``ann`` (two orders, an
open invoice), ``ben`` (a delivered order, all paid) and ``cleo`` (no orders). The guest
order ``LH-100234`` can be looked up with the postcode ``BS1 4DJ``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request

from ..store import Store, tables
from .backend import Account, Address, Invoice, Money, Order, OrderEvent, ProfileChanges

__all__ = ["DEMO_PASSWORD", "DemoBackend", "hash_password", "verify_password"]

DEMO_PASSWORD = "larkspur-demo-2026"
_C, _O, _E, _I = tables.account_customers, tables.account_orders, tables.account_order_events, tables.account_invoices
_DEFAULT_PREFS = {"order_updates": True, "newsletter": False, "sms": False}


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8", "replace"), salt=base64.urlsafe_b64decode(salt),
                             n=int(n), r=int(r), p=int(p), maxmem=128 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _dummy_hash(n: int) -> str:
    """A real hash to check against when no account matched, so "no such user" costs the same."""
    return hash_password(secrets.token_urlsafe(12), n=n)


class DemoBackend:
    """Customers, orders and invoices in the ``account_*`` tables of the portal's store.

    ``clock`` dates the seeded orders and invoices relative to "now" so the demo always
    looks current; ``hash_cost`` is scrypt's ``n`` (lower it only in tests).
    """

    login_url: str | None = None

    def __init__(
        self,
        store: Store | Callable[[], Awaitable[Store]],
        *,
        clock: Callable[[], datetime] | None = None,
        hash_cost: int = 2**14,
    ) -> None:
        self._store = store
        self.hash_cost = hash_cost
        self._clock = clock or tables.utcnow

    async def _get_store(self) -> Store:
        return self._store if isinstance(self._store, Store) else await self._store()

    # -- lookups ------------------------------------------------------------------------------
    async def _one(self, where: Any) -> Account | None:
        async with (await self._get_store()).read() as conn:
            row = (await conn.execute(select(_C).where(where))).mappings().first()
        return _account(row) if row is not None else None

    async def get_by_id(self, account_id: str) -> Account | None:
        if not account_id.isdigit() or len(account_id) > 18:
            return None
        return await self._one(_C.c.id == int(account_id))

    async def get_by_email(self, email: str) -> Account | None:
        return await self._one(func.lower(_C.c.email) == email.strip().lower()[:320])

    async def get_by_username(self, username: str) -> Account | None:
        return await self._one(func.lower(_C.c.username) == username.strip().lower()[:150])

    async def current_user(self, request: Request) -> Account | None:
        # The demo has no host session; the portal's own sign-in cookie is used instead.
        user = request.scope.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return await self.get_by_username(str(getattr(user, "display_name", "")))
        return None

    # -- passwords ----------------------------------------------------------------------------
    async def check_password(self, account: Account, password: str) -> bool:
        stored = None
        if account.id.isdigit():
            async with (await self._get_store()).read() as conn:
                stored = (await conn.execute(select(_C.c.password_hash).where(_C.c.id == int(account.id)))).scalar()
        ok = await asyncio.to_thread(verify_password, password, stored or _dummy_hash(self.hash_cost))
        return ok and stored is not None

    async def set_password(self, account: Account, password: str) -> Account:
        hashed = await asyncio.to_thread(hash_password, password, n=self.hash_cost)
        async with (await self._get_store()).write() as conn:
            await conn.execute(update(_C).where(_C.c.id == int(account.id)).values(password_hash=hashed))
        return await self._required(account.id)

    async def record_login(self, account: Account) -> Account:
        async with (await self._get_store()).write() as conn:
            await conn.execute(update(_C).where(_C.c.id == int(account.id)).values(last_login=self._clock()))
        return await self._required(account.id)

    # -- profile ------------------------------------------------------------------------------
    async def update_profile(self, account: Account, changes: ProfileChanges) -> Account:
        values: dict[str, Any] = {}
        if changes.name is not None:
            values["name"] = changes.name
        if changes.phone is not None:
            values["phone"] = changes.phone
        if changes.address is not None:
            a = changes.address
            values["address"] = {"line1": a.line1, "line2": a.line2, "city": a.city, "postcode": a.postcode,
                                 "country": a.country}
        if changes.preferences is not None:
            values["preferences"] = dict(changes.preferences)
        if values:
            async with (await self._get_store()).write() as conn:
                await conn.execute(update(_C).where(_C.c.id == int(account.id)).values(**values))
        return await self._required(account.id)

    async def set_email(self, account: Account, email: str) -> Account:
        async with (await self._get_store()).write() as conn:
            await conn.execute(update(_C).where(_C.c.id == int(account.id)).values(email=email))
        return await self._required(account.id)

    async def _required(self, account_id: str) -> Account:
        found = await self.get_by_id(account_id)
        if found is None:
            raise LookupError(f"account {account_id} vanished")
        return found

    # -- orders and billing -------------------------------------------------------------------
    async def orders(self, account: Account) -> Sequence[Order]:
        async with (await self._get_store()).read() as conn:
            rows = (await conn.execute(
                select(_O).where(_O.c.customer_id == int(account.id)).order_by(_O.c.placed_at.desc())
            )).mappings().all()
            return [await _order(conn, row) for row in rows]

    async def find_order(self, number: str) -> Order | None:
        async with (await self._get_store()).read() as conn:
            row = (await conn.execute(select(_O).where(_O.c.number == number.strip().upper()[:32]))).mappings().first()
            return await _order(conn, row) if row is not None else None

    async def invoices(self, account: Account) -> Sequence[Invoice]:
        async with (await self._get_store()).read() as conn:
            rows = (await conn.execute(
                select(_I).where(_I.c.customer_id == int(account.id)).order_by(_I.c.issued_at.desc())
            )).mappings().all()
        return [
            Invoice(r["number"], r["issued_at"], r["due_at"], Money(r["amount_minor"], r["currency"]), r["status"],
                    r["description"])
            for r in rows
        ]

    async def balance(self, account: Account) -> Money:
        due = [i.amount for i in await self.invoices(account) if i.payable]
        return Money(sum(m.minor for m in due), due[0].currency if due else "GBP")

    # -- demo data ----------------------------------------------------------------------------
    async def seed(self) -> bool:
        """Add the demo customers, orders and invoices unless they are there; True if added."""
        hashed = await asyncio.to_thread(hash_password, DEMO_PASSWORD, n=self.hash_cost)
        now = self._clock()
        async with (await self._get_store()).write() as conn:
            if (await conn.execute(select(func.count()).select_from(_C))).scalar():
                return False
            ids = {}
            for username, email, name, phone, address in _CUSTOMERS:
                result = await conn.execute(insert(_C).values(
                    username=username, email=email, name=name, phone=phone, address=address,
                    preferences=dict(_DEFAULT_PREFS), password_hash=hashed, created_at=now - timedelta(days=400),
                    active=True,
                ).returning(_C.c.id))
                ids[username] = result.scalar_one()
            for number, owner, email, postcode, summary, total, days_ago, steps in _ORDERS:
                placed = now - timedelta(days=days_ago)
                result = await conn.execute(insert(_O).values(
                    number=number, customer_id=ids.get(owner) if owner else None, email=email, postcode=postcode, status=steps[-1][0],
                    summary=summary, total_minor=total, currency="GBP", placed_at=placed, next_step="",
                ).returning(_O.c.id))
                order_id = result.scalar_one()
                for status, hours, note in steps:
                    await conn.execute(insert(_E).values(order_id=order_id, created_at=placed + timedelta(hours=hours),
                                                         status=status, note=note))
            for number, owner, days_ago, due_days, amount, status, description in _INVOICES:
                issued = now - timedelta(days=days_ago)
                await conn.execute(insert(_I).values(
                    number=number, customer_id=ids[owner], issued_at=issued, due_at=issued + timedelta(days=due_days),
                    amount_minor=amount, currency="GBP", status=status, description=description,
                ))
        return True


def _account(row: Any) -> Account:
    address = row["address"] or {}
    return Account(
        id=str(row["id"]),
        username=row["username"],
        email=row["email"],
        name=row["name"],
        phone=row["phone"],
        address=Address(**{k: str(address.get(k, "")) for k in ("line1", "line2", "city", "postcode", "country")}),
        preferences={k: bool(v) for k, v in (row["preferences"] or {}).items()},
        password_fingerprint=row["password_hash"],
        last_login=row["last_login"],
        active=bool(row["active"]),
    )


async def _order(conn: AsyncConnection, row: Any) -> Order:
    events = (await conn.execute(
        select(_E.c.created_at, _E.c.status, _E.c.note).where(_E.c.order_id == row["id"]).order_by(_E.c.created_at)
    )).all()
    customer = row["customer_id"]
    return Order(
        number=row["number"],
        status=row["status"],
        placed_at=row["placed_at"],
        email=row["email"],
        postcode=row["postcode"],
        summary=row["summary"],
        total=Money(row["total_minor"], row["currency"]),
        events=tuple(OrderEvent(e.created_at, e.status, e.note) for e in events),
        next_step=row["next_step"],
        account_id=str(customer) if customer is not None else None,
    )


_CUSTOMERS = [
    ("ann", "ann.hughes@example.com", "Ann Hughes", "07700 900123",
     {"line1": "12 Harbour Road", "line2": "", "city": "Bristol", "postcode": "BS1 5TT", "country": "United Kingdom"}),
    ("ben", "ben.okafor@example.com", "Ben Okafor", "07700 900456",
     {"line1": "4 Mill Lane", "line2": "Flat 2", "city": "Leeds", "postcode": "LS6 2AB", "country": "United Kingdom"}),
    ("cleo", "cleo.marsh@example.com", "Cleo Marsh", "",
     {"line1": "", "line2": "", "city": "", "postcode": "", "country": ""}),
]
_ORDERS = [
    ("LH-100231", "ann", "ann.hughes@example.com", "BS1 5TT", "Larkspur Hub 2 and two smart plugs", 18_997, 3,
     [("placed", 0, "We have your order."), ("paid", 0.1, "Payment taken."), ("packed", 20, "Packed at our Swindon warehouse."),
      ("shipped", 30, "With Royal Mail, tracking LK123456789GB.")]),
    ("LH-100198", "ann", "ann.hughes@example.com", "BS1 5TT", "Replacement hub power adapter", 1_499, 40,
     [("placed", 0, "We have your order."), ("paid", 0.1, "Payment taken."), ("shipped", 22, "With Royal Mail."),
      ("delivered", 70, "Delivered to your porch.")]),
    ("LH-100120", "ben", "ben.okafor@example.com", "LS6 2AB", "Larkspur Thermostat", 12_900, 90,
     [("placed", 0, "We have your order."), ("paid", 0.1, "Payment taken."), ("shipped", 24, "With DPD."),
      ("delivered", 48, "Delivered and signed for by B. Okafor.")]),
    ("LH-100234", None, "guest.buyer@example.com", "BS1 4DJ", "Two Larkspur door sensors", 5_998, 1,
     [("placed", 0, "We have your order."), ("paid", 0.1, "Payment taken.")]),
]
_INVOICES = [
    ("INV-2026-0412", "ann", 12, 30, 4_999, "open", "Larkspur Plus subscription, 12 months"),
    ("INV-2026-0311", "ann", 44, 30, 1_499, "paid", "Replacement hub power adapter"),
    ("INV-2026-0210", "ben", 95, 30, 12_900, "paid", "Larkspur Thermostat"),
]
