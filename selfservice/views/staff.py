"""The staff area under ``/staff``: who may enter, and the routes inside.

Access is the host's decision: ``Settings.is_staff(request) -> bool`` (it may be async) is
asked on every staff request, before anything is read. There is no default open access:
without ``is_staff`` every staff URL answers 403 (only a local demo lets in its own browser,
see :func:`require_staff`), and a denied request gets a plain 403
response, never a staff page or a redirect that reveals what is there. Staff pages are
never cached (``Cache-Control: private, no-store``) and never indexed.

Feature modules add their pages through :func:`routes`: the inbox (contact requests and
complaints) and the insights dashboard (:mod:`selfservice.insights`). Every state-changing
staff action is a POST with a CSRF token (:mod:`selfservice.forms`) and is written to the
audit log with the actor :func:`staff_actor` names.
"""

from __future__ import annotations

import inspect
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ..state import portal_state

__all__ = ["NO_STORE", "require_staff", "routes", "staff_actor", "staff_only"]

PREFIX = "/staff"  # where app.py mounts routes()
NO_STORE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex, nofollow"}


async def require_staff(request: Request) -> str:
    """Let the request in, or raise a 403; returns the actor name for the audit log.

    The one exception to "no is_staff, no access" is the local demo (``Settings.demo`` and no
    ``is_staff``): a browser on the same machine — a loopback client *and* a loopback ``Host``
    — may look around, so ``selfservice serve`` shows the staff area to its developer. A demo
    reached through a proxy on the same host still sends the public ``Host`` and is refused.
    """
    settings = portal_state(request).settings
    check = settings.is_staff
    if check is None and settings.demo and _local(request):
        return staff_actor(request)
    if check is None:
        raise HTTPException(403, "The staff area is not enabled: set Settings.is_staff.")
    allowed = check(request)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    if allowed is not True:
        raise HTTPException(403, "You do not have access to the staff area.")
    return staff_actor(request)


def _local(request: Request) -> bool:
    """A loopback client asking for a loopback host name (the demo's own browser)."""
    client = request.client.host if request.client else ""
    try:
        client_local = ipaddress.ip_address(client.removeprefix("::ffff:")).is_loopback
    except ValueError:
        return False
    return client_local and request.url.hostname in ("127.0.0.1", "localhost", "::1")


def staff_actor(request: Request) -> str:
    """Who is acting, for the audit log and timelines: the host's authenticated user
    (``request.user.display_name`` from Starlette's AuthenticationMiddleware) or ``"staff"``."""
    user = request.scope.get("user")
    name = getattr(user, "display_name", None) if user is not None and getattr(user, "is_authenticated", False) else None
    return str(name)[:120] if name else "staff"


def staff_only(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a staff endpoint: check access first, then mark the response private and unindexed.
    The actor name is in ``request.state.staff_actor``."""

    async def guarded(request: Request) -> Response:
        # Starlette's Mount("/staff") appends "/staff" to root_path, but links are built from
        # the portal's root (url('staff:…') already includes the prefix): take it back off.
        root = str(request.scope.get("root_path", ""))
        if root.endswith(PREFIX):
            request.scope["root_path"] = root[: -len(PREFIX)]
        request.state.staff_actor = await require_staff(request)
        response = await endpoint(request)
        for key, value in NO_STORE.items():
            response.headers[key] = value
        return response

    guarded.__name__ = getattr(endpoint, "__name__", "staff_endpoint")
    guarded.__doc__ = endpoint.__doc__
    return guarded


def routes() -> list[BaseRoute]:
    """The routes mounted at ``/staff`` (``url('staff:<name>')``)."""
    found: list[BaseRoute] = []
    for module in _feature_modules():
        found += module.routes()
    return found


def _feature_modules() -> list[Any]:
    """Each staff feature module has ``routes() -> list[BaseRoute]``."""
    from . import inbox, insights

    return [inbox, insights]
