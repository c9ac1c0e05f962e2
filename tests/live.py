"""Real serving for tests: uvicorn in a background thread on pre-bound localhost sockets,
and Debian's Chromium driven by Playwright. Shared by the widget, print and audit tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "SEVERE", "axe_failures", "launch_chromium", "listening_socket", "serve_at", "serving",
           "watched_page"]

SEVERE = frozenset({"serious", "critical"})

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class _Server(uvicorn.Server):
    """uvicorn for a background thread; ``ready`` is set once it listens (or gave up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


@contextlib.contextmanager
def serving(app: Any, sockets: list[socket.socket]) -> Iterator[None]:
    """Serve ``app`` on ``sockets`` until the block ends; the sockets already listen, so
    connections made before uvicorn accepts simply queue (no waiting loop needed)."""
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", http="h11", loop="asyncio"))

    def run() -> None:
        try:
            server.run(sockets=sockets)
        finally:
            server.ready.set()

    thread = threading.Thread(target=run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        assert server.ready.wait(timeout=60) and server.started, "uvicorn did not start"
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextlib.contextmanager
def serve_at(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a fresh localhost port; yields its origin
    (``http://127.0.0.1:<port>``)."""
    sock = listening_socket()
    try:
        with serving(app, [sock]):
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def axe_failures(page: Any, base: str, pages: dict[str, str]) -> list[str]:
    """Open each of ``pages`` (name → path under ``base``) and run axe-core on it; one line
    per serious or critical violation (axe-playwright-python, the test extra)."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="needs axe-playwright-python (test extra)")
    axe = axe_module.Axe()
    failures: list[str] = []
    for name, path in pages.items():
        page.goto(base + path)
        for v in axe.run(page).response["violations"]:
            if v["impact"] in SEVERE:
                targets = [n["target"] for n in v["nodes"]][:3]
                failures.append(f"{name} ({path}): {v['id']} [{v['impact']}] {v['help']} at {targets}")
    return failures


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)  # connections queue from now on, before uvicorn accepts them
    return sock


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """A headless Chromium browser, or a skip naming what to install."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need `pip install playwright`")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def watched_page(browser: Any, **context_options: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page in a fresh browser context (``context_options`` as for ``new_context``) and the
    list its uncaught JavaScript errors land in; the context is closed afterwards."""
    context = browser.new_context(**context_options)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
    finally:
        context.close()
