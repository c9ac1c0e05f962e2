"""IndexedRouter finds the same route as Starlette's loop, only sooner."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.testclient import TestClient

from selfservice import Portal
from selfservice.routing import IndexedRouter, fixed_paths


def _scope(path: str, method: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path, "headers": [],
            "query_string": b""}


def _first_by_loop(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def _first_by_index(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    route = fixed_paths(routes).get(scope["path"][len(scope["root_path"]):])
    if route is not None and route.matches(scope)[0] is Match.FULL:
        return route
    return _first_by_loop(routes, scope)


def test_the_index_picks_what_starlettes_loop_picks_for_every_portal_route(demo_portal: Portal) -> None:
    routes = demo_portal.router.routes
    index = fixed_paths(routes)
    assert "/api/feedback" in index and "/" in index, "the portal's fixed paths are indexed"
    paths = {getattr(r, "path", "") for r in routes} | {"/a/x", "/staff/insights", "/static/portal.css", "/nope"}
    for path in paths:
        for method in ("GET", "HEAD", "POST", "PUT"):
            for root in ("", "/help"):
                scope = _scope(path, method, root)
                assert _first_by_index(routes, scope) is _first_by_loop(routes, scope), (path, method, root)


def _ok(text: str) -> Any:
    async def endpoint(request: Any) -> PlainTextResponse:
        return PlainTextResponse(text)

    return endpoint


def test_an_earlier_route_that_matches_the_path_keeps_it_out_of_the_index() -> None:
    routes: list[BaseRoute] = [
        Route("/items/{name}", _ok("param"), methods=["GET"]),
        Route("/items/new", _ok("fixed"), methods=["GET", "POST"]),
        Mount("/files", routes=[Route("/list", _ok("mounted"))]),
        Route("/files/list", _ok("shadowed")),
        Route("/plain", _ok("plain"), methods=["POST"]),
    ]
    assert set(fixed_paths(routes)) == {"/plain"}
    with TestClient(IndexedRouter(routes)) as client:
        assert client.get("/items/new").text == "param"
        assert client.post("/items/new").text == "fixed"  # the first route allows no POST: the loop finds this one
        assert client.get("/files/list").text == "mounted"
        assert client.post("/plain").text == "plain"
        assert client.get("/plain").status_code == 405  # a method the route refuses: Starlette's answer
        assert client.get("/nope").status_code == 404


def test_a_route_inserted_later_is_seen() -> None:
    router = IndexedRouter([Route("/a", _ok("first"))])
    with TestClient(router) as client:
        assert client.get("/a").text == "first"
        router.routes.insert(0, Route("/a", _ok("inserted")))
        assert client.get("/a").text == "inserted"


@pytest.mark.parametrize("path", ["/api/feedback", "/api/articles"])
def test_the_portal_answers_through_the_index(client: TestClient, path: str) -> None:
    r = client.get(f"/help{path}")
    assert r.status_code == (405 if path == "/api/feedback" else 200)
