"""The account menu: a registry of actions, each one module with its own routes.

An action is a title for the Account menu, the routes that implement it and who may see it.
The built-in ones are :mod:`.reset`, :mod:`.username`, :mod:`.orders`, :mod:`.details` and
:mod:`.billing`. A host adds its own with one more :class:`AccountAction` in
``Settings.account_actions``::

    from starlette.routing import Route
    from selfservice.accounts import AccountAction, accounts_of, require_account

    async def start_return(request):
        account = await require_account(request)
        ...

    returns = AccountAction(
        slug="returns", title="Start a return", summary="Send something back within 30 days.",
        routes=[Route("/", start_return, name="account_returns", methods=["GET", "POST"])],
        menu_route="account_returns", audience="signed_in",
        keywords=["return an item", "send back", "refund"],  # offered in search and the widget
    )
    portal = create_portal(Settings(..., account_actions=[returns]))

Its routes are served under ``/account/<slug>`` (``Route("/")`` is ``/account/<slug>``); its views use the same helpers as the
built-in ones (:mod:`.pages`) and may log with ``accounts_of(request).audit(request,
"host.returns", "ok", account=account)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from starlette.routing import BaseRoute, Route

__all__ = ["AccountAction", "builtin_actions", "mount_actions", "visible_actions"]

Audience = Literal["everyone", "signed_in", "signed_out"]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class AccountAction:
    """One entry of the Account menu and the routes behind it."""

    slug: str
    title: str
    summary: str
    routes: Sequence[BaseRoute]
    menu_route: str
    audience: Audience = "everyone"
    order: int = 100
    #: Phrases customers type when they want this action ("forgot password", "can't log in"):
    #: search results and the widget offer the action for them (see :mod:`.discover`).
    keywords: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise ValueError(f"AccountAction.slug {self.slug!r} must be a short lower-case URL segment")
        if self.audience not in ("everyone", "signed_in", "signed_out"):
            raise ValueError(f"AccountAction.audience must be everyone, signed_in or signed_out, not {self.audience!r}")
        if isinstance(self.keywords, str) or not all(isinstance(k, str) and k.strip() for k in self.keywords):
            raise ValueError(f"AccountAction.keywords must be a list of phrases, not {self.keywords!r}")
        object.__setattr__(self, "keywords", tuple(self.keywords))


def builtin_actions() -> list[AccountAction]:
    from . import billing, details, orders, reset, username

    return [orders.ACTION, details.ACTION, billing.ACTION, reset.ACTION, username.ACTION]


def mount_actions(actions: Sequence[AccountAction]) -> list[BaseRoute]:
    seen: set[str] = set()
    routes: list[BaseRoute] = []
    for action in sorted(actions, key=lambda a: a.order):
        if action.slug in seen:
            raise ValueError(f"two account actions use the slug {action.slug!r}")
        seen.add(action.slug)
        for route in action.routes:
            if not isinstance(route, Route):
                raise ValueError(f"account action {action.slug!r}: only Route objects can be mounted, not {route!r}")
            # Re-rooted rather than wrapped in a Mount: a Mount would change root_path, which
            # every link on the page is built from.
            path = f"/account/{action.slug}" + ("" if route.path == "/" else route.path)
            routes.append(Route(path, route.endpoint, methods=sorted(route.methods or ()), name=route.name))
    return routes


def visible_actions(actions: Sequence[AccountAction], signed_in: bool) -> list[AccountAction]:
    wanted = {"everyone", "signed_in" if signed_in else "signed_out"}
    return sorted((a for a in actions if a.audience in wanted), key=lambda a: a.order)
