"""Security middleware: response headers, request body limits and CORS.

All three are plain ASGI middleware (no ``BaseHTTPMiddleware``), so they add no task or
buffering per request: the article page has to stay within 0.8× of a bare Starlette app.

* :class:`SecurityHeadersMiddleware` adds a strict Content-Security-Policy (no inline
  script or style: templates never need them), ``X-Content-Type-Options``,
  ``Referrer-Policy``, ``X-Frame-Options`` and ``Permissions-Policy`` unless a view set them.
* :class:`BodyLimitMiddleware` answers 413 as soon as a declared or streamed body passes the
  limit, before any view reads it.
* :class:`CORSMiddleware` allows only the configured origins, never echoes an arbitrary
  ``Origin`` and never allows credentials for an origin it does not know.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "CORSMiddleware", "SecurityHeadersMiddleware", "DEFAULT_CSP"]

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)
_BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Add the security headers to every HTTP response that does not already carry them."""

    def __init__(self, app: ASGIApp, csp: str = DEFAULT_CSP) -> None:
        self.app = app
        self.headers = (*_BASE_HEADERS, (b"content-security-policy", csp.encode()))
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                raw.extend(h for h in self.headers if h[0] not in present)
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, whether declared or streamed, and
    bodies that take longer than ``timeout`` seconds to arrive with 408 (a client trickling
    a form a byte at a time would otherwise hold a connection and a task for ever)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_error(send, 400, "Content-Length is not a number.")
                    return
                if declared > limit:
                    await _send_error(send, 413, f"The request body is larger than {limit} bytes.")
                    return
        received = 0
        started = False
        deadline = asyncio.get_running_loop().time() + self.timeout
        more_body = True

        async def limited_receive() -> Message:
            nonlocal received, more_body
            if not more_body:
                return await receive()  # the body is complete: only a disconnect can follow
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps receive() in a
                # new Task every call, a visible cost on small JSON writes.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                more_body = bool(message.get("more_body", False))
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _send_error(send, 413, f"The request body is larger than {limit} bytes.")
        except _BodyTooSlow:
            if not started:
                await _send_error(send, 408, f"The request body did not arrive within {self.timeout:g} seconds.")


class CORSMiddleware:
    """CORS for the widget's API calls, for the configured origins only.

    Requests from other origins get no CORS headers at all (the browser then blocks the
    response); a preflight from an unknown origin gets 403. ``Vary: Origin`` is always set
    on API responses so shared caches never mix answers for different origins.
    """

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str], path_prefix: str = "/api/") -> None:
        self.app = app
        self.allowed = frozenset(o.rstrip("/").encode() for o in allowed_origins)
        self.prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route_path = scope["path"][len(scope.get("root_path", "")) :] if scope["path"].startswith(
            scope.get("root_path", "")
        ) else scope["path"]
        if not route_path.startswith(self.prefix) and route_path != "/widget.js":
            await self.app(scope, receive, send)
            return
        origin = next((v for k, v in scope["headers"] if k == b"origin"), None)
        allowed = origin is not None and origin in self.allowed
        if scope["method"] == "OPTIONS" and origin is not None:
            if not allowed:
                await _send_error(send, 403, "This origin may not use the help centre API.")
                return
            assert origin is not None
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        (b"access-control-allow-origin", origin),
                        (b"access-control-allow-methods", b"GET, POST"),
                        (b"access-control-allow-headers", b"content-type, x-csrf-token, idempotency-key"),
                        (b"access-control-allow-credentials", b"true"),
                        (b"access-control-max-age", b"600"),
                        (b"vary", b"Origin"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                raw.append((b"vary", b"Origin"))
                if allowed:
                    assert origin is not None
                    raw.append((b"access-control-allow-origin", origin))
                    raw.append((b"access-control-allow-credentials", b"true"))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_cors)
