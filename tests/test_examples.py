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


ORIGIN = "http://127.0.0.1:8000"


def test_starlette_host_shares_its_login_with_the_account_pages() -> None:
    app = load("starlette_host").app
    with TestClient(app, base_url=ORIGIN) as c:
        assert "Track an order" in c.get("/help/account/orders").text  # signed out: the lookup form
        wrong = c.post("/login", data={"username": "ann", "password": "nope"}, headers={"origin": ORIGIN})
        assert "do not match" in wrong.text
        assert c.post("/login", data={"username": "ann", "password": "larkspur-demo-2026"},
                      headers={"origin": "https://evil.example"}).status_code == 403
        signed_in = c.post("/login?next=/help/account/orders", data={"username": "ann", "password": "larkspur-demo-2026"},
                           headers={"origin": ORIGIN})
        assert signed_in.url.path == "/help/account/orders"
        # the portal sees the host's user: ann's orders, no second sign-in
        assert "Your orders" in signed_in.text and "LH-100198" in signed_in.text and "LH-100231" in signed_in.text
        c.post("/logout", headers={"origin": ORIGIN})
        assert "Track an order" in c.get("/help/account/orders").text


def test_starlette_host_shares_its_look() -> None:
    app = load("starlette_host").app
    with TestClient(app) as c:
        article = c.get("/help/a/refunds")
        assert "Larkspur Ltd" in article.text and '<a href="/">Shop</a>' in article.text  # the host's footer
        css = next(part for part in article.text.split('"') if "theme-vars" in part)
        assert "--ss-accent:#1d6b4f" in c.get(css).text  # the host's brand colour


def test_fastapi_host_serves_own_api_and_portal() -> None:
    app = load("fastapi_host").app
    with TestClient(app) as c:
        assert c.get("/api/status").json() == {"status": "ok"}
        r = c.get("/help/search", params={"q": "delivery"})
        assert r.status_code == 200 and 'href="/help/a/' in r.text


@pytest.mark.parametrize("example", ["fastapi_host", "litestar_host"])
def test_json_login_hosts_share_their_login_and_look(example: str) -> None:
    """FastAPI and Litestar sign in through a JSON API; the portal sees the same user."""
    if example == "litestar_host":
        pytest.importorskip("litestar", reason="the Litestar example needs litestar (test extra)")
    app = load(example).app
    with TestClient(app, base_url=ORIGIN) as c:
        if example == "fastapi_host":
            assert c.get("/api/me").json() == {"user": None}
        assert "Track an order" in c.get("/help/account/orders").text
        assert c.post("/login", data={"username": "ann", "password": "x"}, headers={"origin": ORIGIN}).status_code == 401
        assert c.post("/login", data={"username": "ann", "password": "larkspur-demo-2026"},
                      headers={"origin": "https://evil.example"}).status_code == 403
        assert c.post("/login", data={"username": "ann", "password": "larkspur-demo-2026"},
                      headers={"origin": ORIGIN}).json() == {"user": "ann"}
        if example == "fastapi_host":
            assert c.get("/api/me").json() == {"user": "ann"}
        orders = c.get("/help/account/orders")
        assert "Your orders" in orders.text and "LH-100198" in orders.text
        assert "Larkspur Ltd" in orders.text  # the host's footer around the portal's page
        c.post("/logout", headers={"origin": ORIGIN})
        assert "Track an order" in c.get("/help/account/orders").text


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
        assert "Larkspur Ltd" in c.get("/help/").text  # the host's footer
