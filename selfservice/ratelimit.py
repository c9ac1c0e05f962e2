"""Rate limits for customer input, per IP address and per email address (the ``limits`` library).

Four budgets, each a ``Settings`` field (``None`` switches one off):

* ``rate_limit_feedback`` (60/minute): votes, survey answers and suggestion lookups per IP;
* ``rate_limit_requests`` (10/hour): contact requests, complaints, replies and reopens per IP;
* ``rate_limit_email`` (5/hour): contact requests and complaints per email address;
* ``rate_limit_lookup`` (20/minute): status lookups per IP (guessing references).

Moving windows in memory: exact, and a check costs microseconds. The counts are per process,
so with N server processes a client can reach N times a limit; that is still a limit, and
needs no shared server. Email addresses are counted by a keyed hash, never stored in clear.
The IP is the one the ASGI server reports; behind a proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` so it is the customer's, not the proxy's.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .settings import Settings

if TYPE_CHECKING:
    from limits import RateLimitItem

__all__ = ["Limited", "RateLimits", "client_ip"]

_SCOPES = {
    "feedback": "rate_limit_feedback",
    "requests": "rate_limit_requests",
    "email": "rate_limit_email",
    "lookup": "rate_limit_lookup",
}


@dataclass(frozen=True)
class Limited:
    """A refused request: which budget ran out and when to try again."""

    scope: str
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        """The message in English (the JSON API's language); pages use :meth:`text`."""
        return self.text("en")

    def text(self, locale: str) -> str:
        """The message for a person, in ``locale``'s language."""
        from .i18n import translations

        catalog = translations(locale)
        minutes = (self.retry_after + 59) // 60
        if self.retry_after < 120:
            wait = catalog.ngettext("%(num)s second", "%(num)s seconds", self.retry_after) % {"num": self.retry_after}
        else:
            wait = catalog.ngettext("%(num)s minute", "%(num)s minutes", minutes) % {"num": minutes}
        if self.scope == "email":
            return catalog.gettext("We have received several messages from this email address. "
                                   "Please wait %(wait)s before sending another.") % {"wait": wait}
        return catalog.gettext("Too many attempts from your network. Please wait %(wait)s and try again.") % {"wait": wait}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class RateLimits:
    """The four budgets of one portal. ``hit`` counts an attempt and says if it is refused."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._limiter: Any = None
        self._items: dict[str, RateLimitItem | None] = {}
        self._salt = hashlib.blake2b(settings.secret_keys[0].encode(), digest_size=16, person=b"ss-ratelimit").digest()

    def _setup(self) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        for scope, setting in _SCOPES.items():
            value = getattr(self._settings, setting)
            self._items[scope] = parse(value.replace(" per ", "/")) if value else None

    def hit(self, scope: str, identity: str) -> Limited | None:
        """Count one attempt by ``identity`` (an IP, or an email address) in ``scope``."""
        if self._limiter is None:
            self._setup()
        item = self._items.get(scope)
        if item is None:
            return None
        key = hashlib.blake2b(identity.lower().encode("utf-8", "replace"), key=self._salt, digest_size=16).hexdigest()
        if self._limiter.hit(item, scope, key):
            return None
        reset, _ = self._limiter.get_window_stats(item, scope, key)
        return Limited(scope, max(1, int(reset - time.time()) + 1))

    def clear(self) -> None:
        """Forget every count (tests; or after an incident)."""
        self._limiter = None
