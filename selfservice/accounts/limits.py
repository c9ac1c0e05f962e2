"""Rate limits for account forms, on top of :mod:`selfservice.ratelimit`'s approach.

The portal-wide :class:`~selfservice.ratelimit.RateLimits` has budgets for feedback and
requests; account flows need their own, with their own messages:

=======================  =========================================================  ==========
setting                  counts                                                     default
=======================  =========================================================  ==========
``rate_limit_account``   reset / reminder / lookup / change forms per IP             30/hour
``rate_limit_sign_in``   sign-in and re-authentication attempts per IP + username    10/15minutes
(fixed)                  reset and reminder *mails* per target address               3/hour
=======================  =========================================================  ==========

The per-address budget never shows: over it, the mail is silently not sent, so the page
says the same whether or not the address has an account (no enumeration through 429s).
Identities are hashed with a key derived from the secret key; nothing is stored in clear.
"""

from __future__ import annotations

import hashlib
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

__all__ = ["AccountLimits"]

MAIL_PER_ADDRESS = "3/hour"


class AccountLimits:
    def __init__(self, secret: str, *, account: str | None, sign_in: str | None) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._salt = hashlib.blake2b(secret.encode(), digest_size=16, person=b"ss-acct-limit").digest()
        self._items: dict[str, RateLimitItem | None] = {
            "account": parse(account.replace(" per ", "/")) if account else None,
            "sign_in": parse(sign_in.replace(" per ", "/")) if sign_in else None,
            "mail": parse(MAIL_PER_ADDRESS),
        }

    def hit(self, scope: str, identity: str) -> int | None:
        """Count one attempt; ``None`` if allowed, else seconds until the next is."""
        item = self._items[scope]
        if item is None:
            return None
        key = hashlib.blake2b(identity.lower().encode("utf-8", "replace"), key=self._salt, digest_size=16).hexdigest()
        if self._limiter.hit(item, scope, key):
            return None
        reset, _ = self._limiter.get_window_stats(item, scope, key)
        return max(1, int(reset - time.time()) + 1)

    def clear(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
