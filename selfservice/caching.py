"""HTTP caching: ETags, conditional GETs, gzip and the rendered-page cache.

Article, category and home pages depend only on the content, the theme and the mount
prefix, so each is rendered once and kept as ready-to-send bytes (plain and gzipped) with
its ETag (:class:`PageCache`). The cache is dropped whole whenever the content library
changes (writers' watch mode) or a channel opens or closes; ``/api`` never caches.

In front of the whole portal sits :class:`ResponseCache`, an in-process HTTP cache in the
Varnish spirit: the finished response of a cached page (status, every header including
the security headers, body) is kept under the request attributes it can depend on, and a
repeat is answered with two ``send`` calls, skipping routing, locale negotiation and
header building. That is how the article page stays close to a bare Starlette app's
throughput. Only responses a view marked shareable (:func:`mark_shared`, done by
``render_cached``) are kept, never one that sets a cookie; conditional, ranged,
cross-origin and authorised requests always take the full path.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .i18n import COOKIE, remember_choice

__all__ = ["PageCache", "Prepared", "ResponseCache", "mark_shared", "prepare", "respond"]

_MIN_GZIP = 860  # bytes; below this gzip costs more than it saves


@dataclass(frozen=True, slots=True)
class Prepared:
    """A response body ready to send: bytes, gzipped bytes (or None) and a strong ETag.

    ``headers`` belong with the body and are cached with it, such as the page's
    ``Content-Language``; a ``vary`` entry is added to ``Vary: Accept-Encoding``.
    """

    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


def prepare(
    body: bytes | str, media_type: str, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
) -> Prepared:
    data = body.encode("utf-8") if isinstance(body, str) else body
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    gz = gzip.compress(data, compresslevel=6, mtime=0) if len(data) >= _MIN_GZIP else None
    return Prepared(data, gz, etag, media_type, status, headers)


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "")


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    weak = "W/" + etag
    return any(tag.strip() in (etag, weak) for tag in header.split(","))


def respond(request: Request, prepared: Prepared, *, max_age: int = 0, private: bool = False) -> Response:
    """A response for ``prepared`` honouring If-None-Match and Accept-Encoding."""
    cache_control = f"{'private' if private else 'public'}, max-age={max_age}"
    if max_age == 0:
        cache_control += ", must-revalidate"
    headers = {"etag": prepared.etag, "cache-control": cache_control, "vary": "Accept-Encoding"}
    for name, value in prepared.headers:
        headers[name] = f"{headers['vary']}, {value}" if name == "vary" else value
    inm = request.headers.get("if-none-match")
    if prepared.status == 200 and inm is not None and _etag_matches(inm, prepared.etag):
        response = Response(status_code=304, headers=headers)
        remember_choice(request, response)
        return response
    if prepared.gzipped is not None and _accepts_gzip(request):
        headers["content-encoding"] = "gzip"
        body = prepared.gzipped
    else:
        body = prepared.body
    if request.method == "HEAD":
        headers["content-length"] = str(len(body))
        body = b""
    response = Response(body, status_code=prepared.status, media_type=prepared.media_type, headers=headers)
    remember_choice(request, response)
    return response


_SHARED = "selfservice.shared"


def mark_shared(scope: Scope) -> None:
    """Say that this request's response is the same for everyone who sends the same
    path, query, ``Host``, ``Accept-Encoding``, ``Accept-Language`` and ``lang`` cookie,
    so :class:`ResponseCache` may keep it."""
    scope[_SHARED] = True


class PageCache:
    """An LRU of :class:`Prepared` pages keyed by (generation, key); cleared on content change.

    ``responses`` holds the finished responses :class:`ResponseCache` keeps for these
    pages; :meth:`clear` drops both together.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[object, ...], Prepared] = OrderedDict()
        self.responses: OrderedDict[tuple[object, ...], tuple[int, list[tuple[bytes, bytes]], bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get_or_render(self, key: tuple[object, ...], render: Callable[[], Prepared]) -> Prepared:
        item = self._items.get(key)
        if item is not None:
            self.hits += 1
            self._items.move_to_end(key)
            return item
        self.misses += 1
        item = render()
        self._items[key] = item
        if len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return item

    def clear(self) -> None:
        self._items.clear()
        self.responses.clear()

    def __len__(self) -> int:
        return len(self._items)


# Requests whose answer may differ from the shared one: conditional and ranged requests
# (304/206), cross-origin ones (CORS headers), and any with credentials a host might act on.
_BYPASS = frozenset({b"if-none-match", b"if-modified-since", b"range", b"origin", b"authorization"})
_LANG_COOKIE = re.compile(rb"(?:^|;)\s*" + re.escape(COOKIE.encode()) + rb"=([^;]*)")


class ResponseCache:
    """Answer repeat requests for shareable pages from finished responses (module docs).

    The key is everything such a page can vary on: method, mount prefix, path, query
    string, ``Host``, whether gzip is accepted, ``Accept-Language`` and the ``lang``
    cookie. Entries live in ``cache.responses`` (an LRU of ``max_entries``) and go when
    the page cache is cleared. An entry's body is the very bytes object the page cache
    holds (one body chunk is kept as is), so many keys for one page cost a header list
    each, not a copy of the page. Each hit sends a fresh copy of the header list, because
    middleware outside the portal may edit it in place.
    """

    def __init__(self, app: ASGIApp, *, cache: PageCache, max_entries: int = 1024) -> None:
        self.app = app
        self.cache = cache
        self.max_entries = max_entries
        self.hits = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        gzip_ok = False
        language = host = cookie = b""
        for name, value in scope["headers"]:  # one pass over the request headers
            if name == b"accept-encoding":
                gzip_ok = b"gzip" in value
            elif name == b"accept-language":
                language = value
            elif name == b"host":
                host = value
            elif name == b"cookie":
                found = _LANG_COOKIE.search(value)
                cookie = found.group(1) if found else b""
            elif name in _BYPASS:
                await self.app(scope, receive, send)
                return
        key = (scope["method"], scope.get("root_path", ""), scope["path"], scope.get("query_string", b""),
               host, gzip_ok, language, cookie)
        responses = self.cache.responses
        hit = responses.get(key)
        if hit is not None:
            self.hits += 1
            status, headers, body = hit
            await send({"type": "http.response.start", "status": status, "headers": list(headers)})
            await send({"type": "http.response.body", "body": body})
            return

        kept: list[tuple[bytes, bytes]] | None = None  # as the portal sent them, copied before
        chunks: list[bytes] = []  # anything outside can edit the message

        async def keep(message: Message) -> None:
            nonlocal kept
            if message["type"] == "http.response.start":
                if message["status"] == 200 and scope.get(_SHARED):
                    kept = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
                    if any(k.lower() == b"set-cookie" for k, _ in kept):
                        kept = None
            elif message["type"] == "http.response.body" and kept is not None:
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    responses[key] = (200, kept, b"".join(chunks))
                    if len(responses) > self.max_entries:
                        responses.popitem(last=False)
            await send(message)

        await self.app(scope, receive, keep)
