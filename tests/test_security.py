from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from selfservice.security import BodyLimitMiddleware, CORSMiddleware, SecurityHeadersMiddleware


async def echo(request: Request) -> Response:
    body = await request.body()
    return PlainTextResponse(f"{len(body)}")


async def api(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def framed(request: Request) -> Response:
    return PlainTextResponse("x", headers={"x-frame-options": "DENY"})


def _app() -> Starlette:
    return Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"]),
            Route("/api/x", api, methods=["GET", "POST"]),
            Route("/framed", framed),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(BodyLimitMiddleware, max_bytes=1000),
            Middleware(CORSMiddleware, allowed_origins=["https://shop.example"]),
        ],
    )


def test_security_headers_present_without_inline_script() -> None:
    r = TestClient(_app()).get("/api/x")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_view_headers_win() -> None:
    assert TestClient(_app()).get("/framed").headers["x-frame-options"] == "DENY"


def test_declared_body_over_limit_is_413() -> None:
    r = TestClient(_app()).post("/echo", content=b"x" * 1001)
    assert r.status_code == 413
    assert "larger than 1000" in r.json()["error"]


def test_streamed_body_over_limit_is_413() -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(5):
            yield b"y" * 400

    r = TestClient(_app()).post("/echo", content=chunks())
    assert r.status_code == 413


def test_body_within_limit_passes() -> None:
    assert TestClient(_app()).post("/echo", content=b"x" * 1000).text == "1000"


def test_bad_content_length_is_400() -> None:
    r = TestClient(_app()).post("/echo", content=b"x", headers={"content-length": "abc"})
    assert r.status_code == 400


def test_cors_allows_only_configured_origin() -> None:
    c = TestClient(_app())
    ok = c.get("/api/x", headers={"origin": "https://shop.example"})
    assert ok.headers["access-control-allow-origin"] == "https://shop.example"
    assert ok.headers["access-control-allow-credentials"] == "true"
    evil = c.get("/api/x", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-credentials" not in evil.headers
    assert "Origin" in evil.headers["vary"]


def test_cors_preflight() -> None:
    c = TestClient(_app())
    pre = c.options("/api/x", headers={"origin": "https://shop.example", "access-control-request-method": "POST"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://shop.example"
    bad = c.options("/api/x", headers={"origin": "https://evil.example", "access-control-request-method": "POST"})
    assert bad.status_code == 403
    assert "access-control-allow-origin" not in bad.headers
