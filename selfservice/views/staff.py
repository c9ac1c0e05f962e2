"""The staff area under ``/staff``: who may enter, and the routes inside.

Access is the host's decision: ``Settings.is_staff(request) -> bool`` (it may be async) is
asked on every staff request, before anything is read. There is no default open access:
without ``is_staff`` every staff URL answers 403, and a denied request gets a plain 403
response, never a staff page or a redirect that reveals what is there. Staff pages are
never cached (``Cache-Control: private, no-store``) and never indexed.

Feature modules add their pages through :func:`routes`: the inbox (contact requests and
complaints) and the insights dashboard (:mod:`selfservice.insights`). Every state-changing
staff action is a POST with a CSRF token (:mod:`selfservice.forms`) and is written to the
audit log with the actor :func:`staff_actor` names.
"""

from __future__ import annotations

import inspect
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
    """Let the request in, or raise a 403; returns the actor name for the audit log."""
    check = portal_state(request).settings.is_staff
    if check is None:
        raise HTTPException(403, "The staff area is not enabled: set Settings.is_staff.")
    allowed = check(request)
    if inspect.isawaitable(allowed):
        allowed = await allowed
    if allowed is not True:
        raise HTTPException(403, "You do not have access to the staff area.")
    return staff_actor(request)


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
    from . import insights

    return [insights]
