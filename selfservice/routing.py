"""Routing: Starlette's router, with requests for fixed paths found by a dict lookup.

Starlette's :class:`~starlette.routing.Router` tries every route's regular expression in turn
until one matches. The portal has about 60 routes, so ``POST /api/feedback`` (the 30th) cost
~75 µs of matching per request before the view ran: more than the rest of routing and a
third of the request path when customers send votes. :class:`IndexedRouter` keeps a dict
from each fixed path (a route without ``{parameters}``) to its route and answers from it,
but only when no route *before* it could match that path at all: then the first match, the
one Starlette's loop would find, is that route. Anything else (paths with parameters,
mounts, a method the route does not allow, slash redirects, 404) goes through Starlette's
loop unchanged, so the answers are the same, just found sooner.

The dict is rebuilt when the route list is replaced or changes length (a test or host that
inserts a route into ``portal.router.routes``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

__all__ = ["IndexedRouter", "fixed_paths"]


def _route_path(scope: Scope) -> str:
    """The path inside this app (as ``starlette._utils.get_route_path`` computes it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root):] if path[len(root)] == "/" else path


def fixed_paths(routes: list[BaseRoute]) -> dict[str, Route]:
    """Fixed path → the route Starlette's loop would reach first for it, when that is
    certain from the path alone (every earlier route is a plain Route or Mount that cannot
    match it)."""
    index: dict[str, Route] = {}
    earlier: list[Route | Mount] = []
    for route in routes:
        if type(route) not in (Route, Mount):
            break  # a Host, a WebSocketRoute or a custom route: its matching is its own
        assert isinstance(route, (Route, Mount))
        path = getattr(route, "path", None)
        if (type(route) is Route and isinstance(path, str) and not route.param_convertors
                and route.path_regex.fullmatch(path) and path not in index
                and not any(other.path_regex.match(path) for other in earlier)):
            index[path] = route
        earlier.append(route)
    return index


class IndexedRouter(Router):
    """A :class:`~starlette.routing.Router` that finds fixed-path routes in a dict (module docs)."""

    _index: dict[str, Route] | None = None
    _indexed: tuple[int, int] = (0, -1)

    def _fixed(self) -> dict[str, Route]:
        key = (id(self.routes), len(self.routes))
        if self._index is None or key != self._indexed:
            self._index, self._indexed = fixed_paths(self.routes), key
        return self._index

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._fixed().get(_route_path(scope))
            if route is not None:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    if "router" not in scope:
                        scope["router"] = self
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
