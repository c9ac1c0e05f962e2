"""Customer account actions: the backend protocol, tokens, passwords, audit, the action registry.

See docs/accounts.md. One module per action (:mod:`.reset`, :mod:`.username`,
:mod:`.orders`, :mod:`.details`, :mod:`.billing`); a host adds its own with
:class:`AccountAction`.
"""

from __future__ import annotations

from .actions import AccountAction
from .backend import Account, AccountBackend, Address, Invoice, Money, Order, OrderEvent, ProfileChanges
from .pages import page, require_account
from .runtime import Accounts, accounts_of

__all__ = [
    "Account",
    "AccountAction",
    "AccountBackend",
    "Accounts",
    "Address",
    "Invoice",
    "Money",
    "Order",
    "OrderEvent",
    "ProfileChanges",
    "accounts_of",
    "page",
    "require_account",
]
