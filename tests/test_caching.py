import gzip
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from selfservice import Portal, Settings, create_portal
from selfservice.caching import PageCache, prepare, respond
from tests.conftest import SECRET

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


# -- the response cache in front of the portal --------------------------------------------



@pytest.fixture()
def portal(tmp_path: Path, demo_dir: Path) -> Portal:
    return create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path, locales=["en", "de"]))


def _hits(portal: Portal) -> int:
    return len(portal.ss.cache.responses)


def test_a_repeat_request_for_a_page_gets_the_same_finished_response(portal: Portal) -> None:
    with TestClient(portal) as c:
        first = c.get("/a/refunds", headers={"accept-encoding": "gzip"})
        assert first.status_code == 200 and _hits(portal) == 1
        stack_calls = portal.ss.cache.hits
        second = c.get("/a/refunds", headers={"accept-encoding": "gzip"})
        # answered from the finished response: the page cache was not even asked
        assert portal.ss.cache.hits == stack_calls
        assert second.content == first.content
        assert second.headers.multi_items() == first.headers.multi_items()
        for name in ("content-security-policy", "x-content-type-options", "etag", "content-language", "vary"):
            assert second.headers[name] == first.headers[name]


def test_each_language_and_encoding_has_its_own_entry(portal: Portal) -> None:
    with TestClient(portal) as c:
        en = c.get("/a/refunds", headers={"accept-language": "en"})
        de = c.get("/a/refunds", headers={"accept-language": "de-DE,de;q=0.9"})
        assert en.headers["content-language"] == "en" and de.headers["content-language"] == "de"
        assert c.get("/a/refunds", headers={"accept-language": "de-DE,de;q=0.9"}).headers["content-language"] == "de"
        assert c.get("/a/refunds", headers={"accept-language": "en"}).headers["content-language"] == "en"
        c.cookies.set("lang", "de")
        assert c.get("/a/refunds", headers={"accept-language": "en"}).headers["content-language"] == "de"
        c.cookies.clear()
        plain = c.get("/a/refunds", headers={"accept-encoding": "identity", "accept-language": "en"})
        assert "content-encoding" not in plain.headers
        assert c.get("/a/refunds", headers={"accept-encoding": "gzip", "accept-language": "en"}).headers["content-encoding"] == "gzip"


def test_responses_that_set_a_cookie_or_are_not_shared_are_never_kept(portal: Portal) -> None:
    with TestClient(portal) as c:
        picked = c.get("/a/refunds?lang=de")  # sets the lang cookie: one visitor's answer
        assert "set-cookie" in picked.headers
        c.cookies.clear()
        assert "set-cookie" in c.get("/a/refunds?lang=de").headers
        assert c.get("/search?q=refund").status_code == 200
        assert c.get("/a/no-such-article").status_code == 404
        assert c.get("/a/no-such-article").status_code == 404
        assert _hits(portal) == 0


def test_conditional_requests_still_get_304(portal: Portal) -> None:
    with TestClient(portal) as c:
        etag = c.get("/a/refunds").headers["etag"]
        assert c.get("/a/refunds").status_code == 200  # a hit
        assert c.get("/a/refunds", headers={"if-none-match": etag}).status_code == 304


def test_clearing_the_page_cache_drops_finished_responses(portal: Portal) -> None:
    with TestClient(portal) as c:
        c.get("/")
        assert _hits(portal) == 1
        portal.ss.cache.clear()
        assert _hits(portal) == 0
        c.get("/")
        assert _hits(portal) == 1


def test_host_middleware_editing_headers_in_place_does_not_reach_the_cache(portal: Portal) -> None:
    class AddHeader:
        def __init__(self, app: Portal) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async def edit(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"].append((b"x-host", b"1"))  # in place, as MutableHeaders does
                await send(message)

            await self.app(scope, receive, edit)  # type: ignore[arg-type]

    host = Starlette(routes=[Mount("/help", app=AddHeader(portal))])  # type: ignore[arg-type]
    with TestClient(host) as c:
        for _ in range(3):
            r = c.get("/help/a/refunds")
            assert r.headers.get_list("x-host") == ["1"]
        assert r.headers.get_list("content-security-policy") and len(r.headers.get_list("etag")) == 1
