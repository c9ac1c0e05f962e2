"""A Starlette host app with its own home page and the help centre mounted at /help.

Run:  uvicorn examples.starlette_host:app --reload     then open http://127.0.0.1:8000/
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from selfservice import Settings, create_portal

portal = create_portal(
    Settings(
        site_name="Larkspur Help",
        secret_key=os.environ.get("SELFSERVICE_SECRET_KEY"),
        demo=True,  # bundled demo articles; pass content_dirs=["my_articles"] for your own
    )
)


async def homepage(request: Request) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="en"><title>Larkspur Home</title>'
        '<h1>Larkspur Home</h1><p>Need a hand? <a href="/help/">Visit the help centre</a>.</p></html>'
    )


app = Starlette(routes=[Route("/", homepage), Mount("/help", app=portal)])
