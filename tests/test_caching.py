import gzip

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from selfservice.caching import PageCache, prepare, respond

BODY = "<p>" + "help " * 400 + "</p>"


def _client() -> TestClient:
    prepared = prepare(BODY, "text/html; charset=utf-8")

    async def page(request: Request) -> Response:
        return respond(request, prepared, max_age=60)

    return TestClient(Starlette(routes=[Route("/", page, methods=["GET", "HEAD"])]))


def test_etag_and_304() -> None:
    c = _client()
    r = c.get("/")
    assert r.status_code == 200 and r.text == BODY
    etag = r.headers["etag"]
    assert r.headers["cache-control"] == "public, max-age=60"
    r2 = c.get("/", headers={"if-none-match": etag})
    assert r2.status_code == 304 and r2.content == b""
    assert c.get("/", headers={"if-none-match": f'"other", W/{etag}'}).status_code == 304
    assert c.get("/", headers={"if-none-match": '"nope"'}).status_code == 200


def test_gzip_only_when_accepted() -> None:
    c = _client()
    r = c.get("/", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.text == BODY  # httpx decodes
    raw = c.get("/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(BODY.encode())) < len(BODY)


def test_head_has_length_and_no_body() -> None:
    r = _client().head("/", headers={"accept-encoding": "identity"})
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) == len(BODY)


def test_small_bodies_are_not_gzipped() -> None:
    assert prepare("tiny", "text/plain").gzipped is None


def test_page_cache_is_lru_and_counts() -> None:
    cache = PageCache(max_entries=2)
    calls: list[str] = []

    def make(name: str):  # type: ignore[no-untyped-def]
        def build():  # type: ignore[no-untyped-def]
            calls.append(name)
            return prepare(name, "text/plain")

        return build

    cache.get_or_render(("a",), make("a"))
    cache.get_or_render(("a",), make("a"))
    cache.get_or_render(("b",), make("b"))
    cache.get_or_render(("c",), make("c"))  # evicts a
    cache.get_or_render(("a",), make("a"))
    assert calls == ["a", "b", "c", "a"]
    assert cache.hits == 1 and cache.misses == 4 and len(cache) == 2
    cache.clear()
    assert len(cache) == 0
