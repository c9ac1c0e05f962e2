"""A Litestar host app: its own page and sign-in, the help centre mounted at /help.

The portal shares the host's

* **login**: Litestar keeps the host's session (server-side sessions here); the mount handler
  passes the signed-in customer to the portal as ``scope["user"]``, the ASGI key Starlette's
  ``request.user`` reads, with ``is_authenticated`` and ``display_name`` as the account
  backend expects. The demo account backend matches ``display_name`` to a username;
* **look**: the brand colour through ``Settings.theme_variables`` and the header/footer
  through a template override (``examples/host_templates``).

Run:  uvicorn examples.litestar_host:app     then open http://127.0.0.1:8000/
and sign in as ``ann`` with the password ``larkspur-demo-2026``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from litestar import Litestar, MediaType, Request, asgi, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.params import Body
from litestar.types import Receive, Scope, Send

from selfservice import Settings, create_portal
from selfservice.hosting import PrefixedApp

HERE = Path(__file__).resolve().parent

portal = create_portal(
    Settings(
        site_name="Larkspur Help",
        secret_key=os.environ.get("SELFSERVICE_SECRET_KEY"),
        demo=True,
        theme_variables={"--ss-accent": "#1d6b4f", "--ss-accent-hover": "#154d39", "--ss-accent-dark": "#7fd6b0"},
        template_dirs=[HERE / "host_templates"],
    )
)
# Litestar strips the mount prefix from the path; PrefixedApp restores what the portal needs
# to build its links (root_path "/help" and the full path).
help_centre = PrefixedApp(portal, "/help")

_SALT = secrets.token_bytes(16)


def _hash(password: str) -> bytes:
    return hashlib.scrypt(password.encode(), salt=_SALT, n=2**14, r=8, p=1)


USERS = {name: _hash("larkspur-demo-2026") for name in ("ann", "ben", "cleo")}  # the host's own users


@dataclass(frozen=True)
class Customer:
    """What the portal reads from ``scope["user"]``."""

    display_name: str
    is_authenticated: bool = True


@asgi("/help", is_mount=True, copy_scope=True)
async def help_mount(scope: Scope, receive: Receive, send: Send) -> None:
    session: Any = scope.get("session")
    name = session.get("user") if isinstance(session, dict) else None
    scope["user"] = Customer(name) if name in USERS else None  # type: ignore[typeddict-unknown-key]
    await help_centre(scope, receive, send)  # type: ignore[arg-type]


def _same_origin(request: Request[Any, Any, Any]) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise PermissionDeniedException("Please sign in from this site.")


@get("/", media_type=MediaType.HTML)
async def home(request: Request[Any, Any, Any]) -> str:
    name = request.session.get("user") if request.session else None
    who = f"Signed in as {name}." if name else '<a href="/help/account">Sign in</a>'
    return (f'<!doctype html><html lang="en"><title>Larkspur Home</title><p>{who}</p>'
            '<p><a href="/help/">Help centre</a></p></html>')


@post("/login")
async def login(request: Request[Any, Any, Any],
                data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> dict[str, str]:
    _same_origin(request)
    name = data.get("username", "").strip().lower()
    if not (hmac.compare_digest(_hash(data.get("password", "")), USERS.get(name, USERS["ann"])) and name in USERS):
        raise NotAuthorizedException("That username and password do not match.")
    request.set_session({"user": name})
    return {"user": name}


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> dict[str, None]:
    _same_origin(request)
    request.clear_session()
    return {"user": None}


app = Litestar(route_handlers=[home, login, logout, help_mount],
               middleware=[ServerSideSessionConfig(samesite="lax").middleware])
