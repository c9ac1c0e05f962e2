"""The runnable host apps in examples/ work as their docstrings say."""

import importlib.util
from pathlib import Path
from types import ModuleType

from starlette.testclient import TestClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_starlette_host_serves_own_page_and_portal() -> None:
    app = load("starlette_host").app
    with TestClient(app) as c:
        home = c.get("/")
        assert home.status_code == 200 and 'href="/help/"' in home.text
        help_home = c.get("/help/")
        assert help_home.status_code == 200 and 'href="/help/c/' in help_home.text
        assert c.get("/help/api/search", params={"q": "refund"}).json()["total"] > 0


def test_fastapi_host_serves_own_api_and_portal() -> None:
    app = load("fastapi_host").app
    with TestClient(app) as c:
        assert c.get("/api/status").json() == {"status": "ok"}
        r = c.get("/help/search", params={"q": "delivery"})
        assert r.status_code == 200 and 'href="/help/a/' in r.text
