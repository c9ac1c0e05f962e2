"""Shared fixtures: a portal over the bundled demo articles, mounted like a host would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from selfservice import Portal, Settings, create_portal
from selfservice.settings import demo_content_dir
from tests.dbfixtures import *  # noqa: F403  (database fixtures: postgres_server, store_url, store)
from tests.live import launch_chromium

SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return demo_content_dir()


@pytest.fixture(scope="session")
def demo_portal(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Portal:
    data = tmp_path_factory.mktemp("demo-data")
    return create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=data, site_name="Larkspur Help"))


@pytest.fixture(scope="session")
def client(demo_portal: Portal) -> Iterator[TestClient]:
    """The demo portal mounted at /help in a host Starlette app."""
    host = Starlette(routes=[Mount("/help", app=demo_portal)])
    with TestClient(host) as c:
        yield c


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Playwright), one per test module (tests/live.py)."""
    with launch_chromium() as b:
        yield b
