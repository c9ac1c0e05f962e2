"""Rendering a page: the context every template gets, link fixing and the page cache.

Every page template receives ``request``, ``site``, ``url``, ``asset_url``, ``page`` and
``breadcrumbs`` (see docs/theming.md). Content pages (home, category, article) are cached
as ready bytes per mount prefix and content generation, so templates for those pages must
not show per-visitor data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ..state import PortalState, portal_state
from ..caching import Prepared, prepare, respond
from ..content import ROOT_MARKER

__all__ = ["PageMeta", "SiteInfo", "absolute_root", "fix_links", "render", "render_cached", "root_path", "url_builder"]


@dataclass(frozen=True, slots=True)
class SiteInfo:
    name: str
    locale: str
    base_url: str | None


@dataclass(frozen=True, slots=True)
class PageMeta:
    title: str
    description: str = ""
    canonical: str | None = None
    noindex: bool = False


def root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def absolute_root(request: Request) -> str:
    """The portal's absolute URL: ``Settings.base_url`` when set, else from the request."""
    base = portal_state(request).settings.base_url
    if base:
        return base.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root_path(request)}"


def fix_links(html: str, root: str) -> str:
    """Point pre-rendered internal links at this mount (``ROOT_MARKER`` → ``root``)."""
    return html.replace(ROOT_MARKER, root) if ROOT_MARKER in html else html


def url_builder(request: Request) -> Callable[..., str]:
    root = root_path(request)
    app = request.scope["app"]

    def url(name: str, /, **params: Any) -> str:
        query = params.pop("_query", None)
        path = root + str(app.url_path_for(name, **params))
        return f"{path}?{urlencode(query)}" if query else path

    return url


def _canonical(state: PortalState, request: Request) -> str | None:
    base = state.settings.base_url
    if not base:
        return None
    route_path = request.url.path[len(root_path(request)) :] if request.url.path.startswith(root_path(request)) else request.url.path
    return base.rstrip("/") + (route_path or "/")


def render(
    request: Request,
    template: str,
    *,
    page: PageMeta,
    breadcrumbs: list[tuple[str, str | None]] | None = None,
    status: int = 200,
    **context: Any,
) -> Prepared:
    state = portal_state(request)
    root = root_path(request)
    if page.canonical is None and status == 200:
        page = PageMeta(page.title, page.description, _canonical(state, request), page.noindex)
    html = state.env.get_template(template).render(
        request=request,
        site=SiteInfo(state.settings.site_name, state.settings.locale, state.settings.base_url),
        url=url_builder(request),
        asset_url=lambda name: f"{root}/{state.assets.asset_url(name)}",
        page=page,
        breadcrumbs=breadcrumbs or [],
        **context,
    )
    return prepare(fix_links(html, root), "text/html; charset=utf-8", status)


def render_cached(request: Request, key: tuple[object, ...], build: Callable[[], Prepared]) -> Response:
    """Serve a content page from the page cache, rendering it on the first request."""
    state = portal_state(request)
    full_key = (state.generation, root_path(request), *key)
    prepared = state.cache.get_or_render(full_key, build)
    return respond(request, prepared, max_age=state.settings.html_max_age)
