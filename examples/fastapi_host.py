"""A FastAPI host app with its own API and the help centre mounted at /help.

Run:  uvicorn examples.fastapi_host:app     then open http://127.0.0.1:8000/help/
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from selfservice import Settings, create_portal

portal = create_portal(
    Settings(site_name="Larkspur Help", secret_key=os.environ.get("SELFSERVICE_SECRET_KEY"), demo=True)
)

app = FastAPI(title="Larkspur Home")


@app.get("/api/status")
async def status() -> dict[str, str]:
    return {"status": "ok"}


app.mount("/help", portal)
