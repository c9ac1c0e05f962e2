"""A FastAPI host app: its own API and sign-in, the help centre mounted at /help.

The portal shares the host's login and look, as in ``starlette_host.py``: FastAPI is Starlette,
so the host's ``SessionMiddleware`` + ``AuthenticationMiddleware`` put the signed-in customer in
``request.user`` for the host's routes and the mounted portal alike (the demo account backend
reads ``request.user.display_name``), and the brand colour and header/footer come from
``Settings.theme_variables`` and a template override.

Run:  uvicorn examples.fastapi_host:app     then open http://127.0.0.1:8000/help/
(sign in with ``POST /login`` as ``ann`` / ``larkspur-demo-2026``, or from ``/docs``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

from selfservice import Settings, create_portal
from selfservice.forms import same_origin

HERE = Path(__file__).resolve().parent
SECRET = os.environ.get("SELFSERVICE_SECRET_KEY") or secrets.token_urlsafe(32)

portal = create_portal(
    Settings(
        site_name="Larkspur Help",
        secret_key=SECRET,
        demo=True,
        theme_variables={"--ss-accent": "#1d6b4f", "--ss-accent-hover": "#154d39", "--ss-accent-dark": "#7fd6b0"},
        template_dirs=[HERE / "host_templates"],
    )
)

_SALT = secrets.token_bytes(16)


def _hash(password: str) -> bytes:
    return hashlib.scrypt(password.encode(), salt=_SALT, n=2**14, r=8, p=1)


USERS = {name: _hash("larkspur-demo-2026") for name in ("ann", "ben", "cleo")}  # the host's own users


class SessionUsers(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        name = conn.session.get("user")
        return (AuthCredentials(["authenticated"]), SimpleUser(name)) if name in USERS else None


def same_site(request: Request) -> None:
    """Host-side CSRF defence for the sign-in routes: the request must come from this origin."""
    if not same_origin(request):
        raise HTTPException(403, "Please sign in from this site.")


app = FastAPI(title="Larkspur Home")
# Added last = outermost: the session is read before authentication looks at it.
app.add_middleware(AuthenticationMiddleware, backend=SessionUsers())
app.add_middleware(SessionMiddleware, secret_key=SECRET, same_site="lax")


@app.get("/api/status")
async def status() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/me")
async def me(request: Request) -> dict[str, str | None]:
    return {"user": request.user.display_name if request.user.is_authenticated else None}


@app.post("/login", dependencies=[Depends(same_site)])
async def login(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]) -> dict[str, str]:
    name = username.strip().lower()
    if not (hmac.compare_digest(_hash(password), USERS.get(name, USERS["ann"])) and name in USERS):
        raise HTTPException(401, "That username and password do not match.")
    request.session.clear()
    request.session["user"] = name
    return {"user": name}


@app.post("/logout", dependencies=[Depends(same_site)])
async def logout(request: Request) -> dict[str, None]:
    request.session.clear()
    return {"user": None}


app.mount("/help", portal)
