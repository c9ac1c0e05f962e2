"""A Litestar host app with its own page and the help centre mounted at /help.

Run:  uvicorn examples.litestar_host:app     then open http://127.0.0.1:8000/help/
"""

from __future__ import annotations

import os

from litestar import Litestar, MediaType, asgi, get
from litestar.types import Receive, Scope, Send

from selfservice import Settings, create_portal
from selfservice.hosting import PrefixedApp

portal = create_portal(
    Settings(site_name="Larkspur Help", secret_key=os.environ.get("SELFSERVICE_SECRET_KEY"), demo=True)
)
# Litestar strips the mount prefix from the path; PrefixedApp restores what the portal needs
# to build its links (root_path "/help" and the full path).
help_centre = PrefixedApp(portal, "/help")


@asgi("/help", is_mount=True, copy_scope=True)
async def help_mount(scope: Scope, receive: Receive, send: Send) -> None:
    await help_centre(scope, receive, send)  # type: ignore[arg-type]


@get("/", media_type=MediaType.HTML)
async def home() -> str:
    return '<!doctype html><html lang="en"><title>Larkspur Home</title><p><a href="/help/">Help centre</a></p></html>'


app = Litestar(route_handlers=[home, help_mount])
