"""HTTP caching: ETags, conditional GETs, gzip and the rendered-page cache.

Article, category and home pages depend only on the content, the theme and the mount
prefix, so each is rendered once and kept as ready-to-send bytes (plain and gzipped) with
its ETag. A request for a cached page is a dict lookup and one ``send``: that is how the
article page stays close to a bare Starlette app's throughput. The cache is dropped whole
whenever the content library changes (writers' watch mode, ``/api`` never caches).
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .i18n import remember_choice

__all__ = ["PageCache", "Prepared", "prepare", "respond"]

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


class PageCache:
    """An LRU of :class:`Prepared` pages keyed by (generation, key); cleared on content change."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[object, ...], Prepared] = OrderedDict()
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

    def __len__(self) -> int:
        return len(self._items)
