"""The ``AccountBackend`` protocol: how the portal reaches the host's customers.

The portal never owns customer records. A host passes an object with these async methods as
``Settings.account_backend`` (the demo uses :class:`~selfservice.accounts.demo.DemoBackend`
on the portal's own store; ``examples/django_accounts.py`` wraps Django's auth user). The
records it returns are small frozen dataclasses, so templates and tests never touch the
host's ORM objects.

Two values exist only so the portal can make single-use links without storing them:
``Account.password_fingerprint`` (anything that changes when the password changes — the
stored hash is ideal) and ``Account.last_login``. They are mixed into a keyed hash inside
signed tokens and never shown or logged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from starlette.requests import Request

__all__ = [
    "Account",
    "AccountBackend",
    "Address",
    "Invoice",
    "Money",
    "Order",
    "OrderEvent",
    "PROFILE_FIELDS",
    "ProfileChanges",
]

PROFILE_FIELDS = ("name", "phone", "address", "preferences")
"""What :meth:`AccountBackend.update_profile` may change (email has its own confirmed flow)."""


@dataclass(frozen=True, slots=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""

    def lines(self) -> list[str]:
        return [p for p in (self.line1, self.line2, self.city, self.postcode, self.country) if p]


@dataclass(frozen=True, slots=True)
class Account:
    """A customer as the portal sees them. ``id`` is the backend's key, as a string."""

    id: str
    username: str
    email: str
    name: str = ""
    phone: str = ""
    address: Address = field(default_factory=Address)
    preferences: Mapping[str, bool] = field(default_factory=dict)
    password_fingerprint: str = field(default="", repr=False)
    last_login: datetime | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """Only the fields a customer changed; ``None`` means "leave as it is"."""

    name: str | None = None
    phone: str | None = None
    address: Address | None = None
    preferences: Mapping[str, bool] | None = None

    def changed_fields(self) -> list[str]:
        return [f for f in PROFILE_FIELDS if getattr(self, f) is not None]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (pence, cents) and an ISO 4217 currency code."""

    minor: int
    currency: str = "GBP"

    def __str__(self) -> str:
        from babel.numbers import format_currency

        return str(format_currency(self.minor / 100, self.currency, locale="en_GB"))


@dataclass(frozen=True, slots=True)
class OrderEvent:
    at: datetime
    status: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Order:
    """An order (or any tracked request) with its status timeline, oldest event first.

    ``email`` and ``postcode`` are what a signed-out customer proves they know; the portal
    compares them, so a backend only has to find the order by its number.
    """

    number: str
    status: str
    placed_at: datetime
    email: str
    postcode: str = ""
    summary: str = ""
    total: Money | None = None
    events: Sequence[OrderEvent] = ()
    next_step: str = ""
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    number: str
    issued_at: datetime
    due_at: datetime | None
    amount: Money
    status: str  # "open", "paid", "overdue", "void"
    description: str = ""

    @property
    def payable(self) -> bool:
        return self.status in ("open", "overdue")


@runtime_checkable
class AccountBackend(Protocol):
    """What the portal needs from the host's user store. All methods are ``async``.

    Return ``None`` for "not found"; raise only for real failures (they become a 500 page
    and an audit entry with outcome ``error``).
    """

    #: Where signed-out customers go to sign in; ``None``: the portal's own sign-in page,
    #: which checks :meth:`check_password` and keeps a signed cookie of its own.
    login_url: str | None

    async def get_by_id(self, account_id: str) -> Account | None: ...

    async def get_by_email(self, email: str) -> Account | None:
        """Match case-insensitively; the portal always mails the address *returned*."""
        ...

    async def get_by_username(self, username: str) -> Account | None: ...

    async def current_user(self, request: Request) -> Account | None:
        """The signed-in customer from the host's session or ``request.user``; else None."""
        ...

    async def check_password(self, account: Account, password: str) -> bool: ...

    async def set_password(self, account: Account, password: str) -> Account:
        """Store the new password (hashed!) and return the account with its new fingerprint."""
        ...

    async def record_login(self, account: Account) -> Account:
        """Note a successful sign-in (``last_login``), which retires older reset links."""
        ...

    async def update_profile(self, account: Account, changes: ProfileChanges) -> Account: ...

    async def set_email(self, account: Account, email: str) -> Account: ...

    async def orders(self, account: Account) -> Sequence[Order]:
        """The customer's orders, newest first."""
        ...

    async def find_order(self, number: str) -> Order | None:
        """An order by its number, for the signed-out lookup (the portal checks the proof)."""
        ...

    async def invoices(self, account: Account) -> Sequence[Invoice]:
        """Invoices, newest first."""
        ...

    async def balance(self, account: Account) -> Money:
        """What the customer owes now (negative: in credit)."""
        ...
