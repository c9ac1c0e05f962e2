"""The runnable host apps in examples/ work as their docstrings say."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from starlette.testclient import TestClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
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


def _check_mounted_portal(c: TestClient) -> None:
    help_home = c.get("/help/")
    assert help_home.status_code == 200 and 'href="/help/c/' in help_home.text
    article = c.get("/help/a/reset-your-password")
    assert article.status_code == 200 and 'href="/help/"' in article.text
    css = c.get(article.text.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0])
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert c.get("/help/api/search", params={"q": "refund"}).json()["total"] > 0
    assert c.get("/help/a/no-such-page").status_code == 404


def test_litestar_host_serves_own_page_and_portal() -> None:
    pytest.importorskip("litestar", reason="the Litestar example needs litestar (test extra)")
    app = load("litestar_host").app
    with TestClient(app) as c:
        assert 'href="/help/"' in c.get("/").text
        _check_mounted_portal(c)


def test_django_host_serves_own_page_and_portal() -> None:
    pytest.importorskip("django", reason="the Django example needs Django (test extra)")
    app = load("django_host").app
    with TestClient(app) as c:
        assert 'href="/help/"' in c.get("/").text
        _check_mounted_portal(c)
