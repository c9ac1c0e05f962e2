"""Mounting the portal in hosts that do not mount ASGI apps the way Starlette does.

Starlette and FastAPI (``Mount("/help", app=portal)``, ``app.mount("/help", portal)``) pass
the portal a scope whose ``root_path`` is the mount prefix and whose ``path`` is the full
path; the portal builds every link from that. Two hosts need help:

- **Litestar** mounts (``@asgi("/help", is_mount=True)``) strip the prefix from ``path`` and
  leave ``root_path`` empty. Wrap the portal: ``await PrefixedApp(portal, "/help")(scope, receive, send)``.
- **Django** has no ASGI mounting at all. :func:`dispatch` routes ``/help/...`` to the portal
  and everything else to Django's ASGI handler, and sends lifespan events to the portal only
  (Django refuses them).

Neither is needed for Starlette or FastAPI. Mounted portals get no lifespan events from
Starlette, FastAPI or Litestar either; the portal opens what it needs on first use.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["PrefixedApp", "dispatch"]


def _check_prefix(prefix: str) -> str:
    if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"prefix must look like '/help' (leading slash, no trailing slash), not {prefix!r}")
    return prefix


class PrefixedApp:
    """``app`` served under ``prefix``, whatever the host did to ``path`` and ``root_path``."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = _check_prefix(prefix)

    def full_path(self, scope: Scope) -> str:
        path: str = scope.get("path", "/")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return path  # Starlette's convention: the full path, prefix included
        raw = scope.get("raw_path")
        if raw:  # the host stripped the prefix (Litestar): the raw request path still has it
            return unquote(raw.decode("latin-1").partition("?")[0])
        return self.prefix + path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = self.full_path(scope)
        await self.app({**scope, "path": path, "root_path": self.prefix}, receive, send)


def dispatch(prefix: str, portal: ASGIApp, other: ASGIApp) -> ASGIApp:
    """An ASGI app sending ``prefix`` and everything under it to ``portal``, the rest to
    ``other`` (e.g. ``django.core.asgi.get_asgi_application()``); lifespan goes to the portal."""
    prefix = _check_prefix(prefix)
    mounted = PrefixedApp(portal, prefix)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await portal(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == prefix or path.startswith(prefix + "/"):
            await mounted(scope, receive, send)
        else:
            await other(scope, receive, send)

    return app
