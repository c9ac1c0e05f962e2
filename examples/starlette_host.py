"""A Starlette host app: its own pages and sign-in, the help centre mounted at /help.

The portal shares the host's

* **login**: the host's ``SessionMiddleware`` + ``AuthenticationMiddleware`` put the signed-in
  customer in ``request.user``; the mounted portal sees the same scope, and its account
  backend's ``current_user`` reads it (the demo backend matches ``request.user.display_name``
  to a username; a real backend looks up its own user). Signed in at ``/login``, a customer
  goes straight to ``/help/account/orders`` without signing in again;
* **look**: the host's brand colour through ``Settings.theme_variables``, and its brand and
  footer links through a template override (``examples/host_templates/base.html`` extends
  ``default:base.html``; see docs/theming.md for the lookup order).

Run:  uvicorn examples.starlette_host:app --reload     then open http://127.0.0.1:8000/
and sign in as ``ann`` with the password ``larkspur-demo-2026``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from selfservice import Settings, create_portal
from selfservice.forms import same_origin

HERE = Path(__file__).resolve().parent
SECRET = os.environ.get("SELFSERVICE_SECRET_KEY") or secrets.token_urlsafe(32)
BRAND = {"--ss-accent": "#1d6b4f", "--ss-accent-hover": "#154d39", "--ss-accent-dark": "#7fd6b0"}

portal = create_portal(
    Settings(
        site_name="Larkspur Help",
        secret_key=SECRET,
        demo=True,  # bundled demo articles and demo customers; content_dirs=["my_articles"] for yours
        theme_variables=BRAND,
        template_dirs=[HERE / "host_templates"],
    )
)


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


# The host's own user store (here: the demo customers' usernames, the demo password).
_SALT = secrets.token_bytes(16)
USERS = {name: _hash("larkspur-demo-2026", _SALT) for name in ("ann", "ben", "cleo")}


class SessionUsers(AuthenticationBackend):
    """``request.user`` from the host's session cookie."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        name = conn.session.get("user")
        return (AuthCredentials(["authenticated"]), SimpleUser(name)) if name in USERS else None


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title} – Larkspur</title>'
        f'<body style="font-family:system-ui;max-width:40rem;margin:2rem auto"><main>{body}</main></body></html>',
        status_code=status,
    )


async def homepage(request: Request) -> HTMLResponse:
    who = (f"Signed in as <strong>{html.escape(request.user.display_name)}</strong>. "
           '<form method="post" action="/logout" style="display:inline"><button>Sign out</button></form>'
           if request.user.is_authenticated else '<a href="/login">Sign in</a>')
    return _page("Home", f'<h1>Larkspur Home</h1><p>{who}</p><p>Need a hand? <a href="/help/">Visit the help centre</a> '
                         'or <a href="/help/account/orders">check your orders</a>.</p>')


async def login(request: Request) -> Response:
    error = ""
    if request.method == "POST":
        if not same_origin(request):  # the session cookie is SameSite=Lax; this stops login CSRF too
            return _page("Sign in", "<p>Please sign in from this site.</p>", 403)
        form = await request.form()
        name, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
        expected = USERS.get(name, USERS["ann"])  # the same work for unknown names
        if hmac.compare_digest(_hash(password, _SALT), expected) and name in USERS:
            request.session.clear()
            request.session["user"] = name
            nxt = str(request.query_params.get("next", "/"))
            return RedirectResponse(nxt if nxt.startswith("/") and not nxt.startswith("//") else "/", status_code=303)
        error = '<p role="alert">That username and password do not match.</p>'
    return _page("Sign in", f"<h1>Sign in</h1>{error}<form method=\"post\">"
                            '<p><label>Username <input name="username" autocomplete="username" required></label></p>'
                            '<p><label>Password <input name="password" type="password" autocomplete="current-password" required>'
                            "</label></p><button>Sign in</button></form>")


async def logout(request: Request) -> Response:
    if same_origin(request):
        request.session.clear()
    return RedirectResponse("/", status_code=303)


app = Starlette(
    routes=[
        Route("/", homepage),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/help", app=portal),
    ],
    middleware=[
        Middleware(SessionMiddleware, secret_key=SECRET, same_site="lax", https_only=False),
        Middleware(AuthenticationMiddleware, backend=SessionUsers()),
    ],
)
