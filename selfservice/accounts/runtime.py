"""The account features of one portal, built once by ``create_portal``: :class:`Accounts`.

It holds what every account action needs — the backend, tokens per purpose, rate limits,
the store (for the audit log and the outbox), the clock — so an action module is only
views. Views reach it with :func:`accounts_of`.

Links in mail are built from ``Settings.base_url`` only, never from the request's Host
header (which an attacker controls: the "password reset poisoning" attack). Without a
``base_url``, demo and debug portals fall back to the request's address *only* when it is
a loopback host (a developer's own machine); anywhere else no mail with a link is sent and
the audit log says ``no_base_url``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from email.utils import make_msgid
from typing import Any

import jinja2
from starlette.requests import Request

from ..i18n import N_
from ..settings import Settings
from ..store import Store
from ..store import outbox as store_outbox
from .audit import actor_of, audit
from .backend import Account, AccountBackend
from .limits import AccountLimits
from .sessions import SESSION_AGE, REAUTH_AGE, session_account_id
from .tokens import Tokens, TokenError

__all__ = ["Accounts", "accounts_of"]

log = logging.getLogger("selfservice")
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1", "testserver")


class Accounts:
    """Account features of a portal. ``store`` opens (or returns) the portal's store."""

    def __init__(
        self,
        settings: Settings,
        backend: AccountBackend,
        env: jinja2.Environment,
        store: Callable[[], Awaitable[Store]],
        *,
        actions: Sequence[Any] = (),
        clock: Callable[[], datetime],
        wake_outbox: Callable[[], None] | None = None,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.env = env
        self._store = store
        self.actions = tuple(actions)
        self.clock = clock
        self.wake_outbox = wake_outbox
        self._prepare = prepare
        self._ready = False
        self._ready_lock: asyncio.Lock | None = None
        keys = settings.secret_keys
        self.limits = AccountLimits(keys[0], account=settings.rate_limit_account, sign_in=settings.rate_limit_sign_in)
        now = lambda: clock().timestamp()  # noqa: E731 - tokens read the same injected clock
        self.tokens = {
            "password-reset": Tokens(keys, "password-reset", max_age=settings.account_token_max_age, clock=now),
            "email-change": Tokens(keys, "email-change", max_age=settings.account_token_max_age * 24, clock=now),
            "payment-return": Tokens(keys, "payment-return", max_age=24 * 3600, clock=now),
            "session": Tokens(keys, "session", max_age=SESSION_AGE, clock=now),
            "reauth": Tokens(keys, "reauth", max_age=REAUTH_AGE, clock=now),
        }

    # -- the store ----------------------------------------------------------------------------
    async def store(self) -> Store:
        if not self._ready:
            if self._ready_lock is None:
                self._ready_lock = asyncio.Lock()
            async with self._ready_lock:
                if not self._ready and self._prepare is not None:
                    await self._prepare()
                self._ready = True
        return await self._store()

    async def audit(self, request: Request | None, action: str, outcome: str, *, account: Account | None = None,
                    target: str | None = None, **details: Any) -> None:
        store = await self.store()
        if target is None:
            target = f"account:{account.id}" if account is not None else "-"
        await audit(store, action=action, outcome=outcome, actor=actor_of(account), target=target, at=self.clock(),
                    **details)

    # -- who is signed in ---------------------------------------------------------------------
    async def current_account(self, request: Request) -> Account | None:
        cached = request.scope.get("selfservice.account", False)
        if cached is not False:
            return cached
        await self.store()
        account = await self.backend.current_user(request)
        if account is None and self.backend.login_url is None:
            found = session_account_id(request, self.tokens["session"])
            if found is not None:
                uid, payload = found
                candidate = await self.backend.get_by_id(uid)
                try:
                    account = self.tokens["session"].check_account(payload, candidate)
                except TokenError:
                    account = None
        if account is not None and not account.active:
            account = None
        request.scope["selfservice.account"] = account
        return account

    # -- mail ---------------------------------------------------------------------------------
    def mail_root(self, request: Request) -> str | None:
        """The absolute portal URL for links in mail; ``None`` when it cannot be trusted."""
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/")
        if (self.settings.demo or self.settings.debug) and request.url.hostname in _LOOPBACK:
            root = str(request.scope.get("root_path", "")).rstrip("/")
            return f"{request.url.scheme}://{request.url.netloc}{root}"
        return None

    async def send_mail(self, to: str, template: str, context: dict[str, Any]) -> None:
        """Render ``mail/<template>`` and put it in the outbox (the worker delivers it)."""
        from ..mail import render_mail

        rendered = render_mail(self.env, template, {"site_name": self.settings.site_name, **context})
        payload = {**rendered, "to": to, "message_id": make_msgid(domain="selfservice.invalid")}
        store = await self.store()
        async with store.write() as conn:
            await store_outbox.enqueue(conn, "mail", payload, now=self.clock())
        if self.wake_outbox is not None:
            self.wake_outbox()

    # -- small shared helpers -----------------------------------------------------------------
    @staticmethod
    async def equalise(started: float, floor: float = 0.35) -> None:
        """Pad a code path to at least ``floor`` seconds (used where work can't leave the request)."""
        left = floor - (time.perf_counter() - started)
        if left > 0:
            await asyncio.sleep(left)


def accounts_of(request: Request) -> Accounts:
    accounts = getattr(request.scope.get("app"), "accounts", None)
    if accounts is None:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, N_("Account pages are not switched on for this help centre."))
    return accounts


def build_accounts(settings: Settings, env: jinja2.Environment, store: Callable[[], Awaitable[Store]],
                   clock: Callable[[], datetime]) -> Accounts | None:
    """The portal's :class:`Accounts`: the host's backend, or the demo backend in demo mode."""
    from .actions import builtin_actions

    backend: AccountBackend | None = settings.account_backend
    prepare: Callable[[], Awaitable[None]] | None = None
    if backend is None and settings.demo:
        from .demo import DemoBackend

        demo = DemoBackend(store, clock=clock)

        async def seed() -> None:
            await demo.seed()

        backend, prepare = demo, seed
    if backend is None:
        return None
    actions = [*builtin_actions(), *settings.account_actions]
    return Accounts(settings, backend, env, store, actions=actions, clock=clock, prepare=prepare)
