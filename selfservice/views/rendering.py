"""Rendering a page: the context every template gets, link fixing and the page cache.

Every page template receives ``request``, ``site``, ``url``, ``asset_url``, ``page``,
``breadcrumbs``, ``locale`` and ``languages`` (see docs/theming.md); ``page.alternates`` are
the ``hreflang`` links of indexable pages (docs/i18n.md). Content pages (home,
category, article, manuals) are cached as ready bytes per mount prefix, content generation
and locale, so templates for those pages must not show per-visitor data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

from starlette.requests import Request
from starlette.responses import Response

from ..caching import Prepared, mark_shared, prepare, respond
from ..content import ROOT_MARKER
from ..i18n import QUERY, languages, page_headers, request_locale, tag
from ..state import PortalState, portal_state

__all__ = ["Alternate", "PageMeta", "SiteInfo", "alternates", "absolute_root", "fix_links", "render", "render_cached", "root_path", "url_builder"]


@dataclass(frozen=True, slots=True)
class SiteInfo:
    name: str
    locale: str
    base_url: str | None


@dataclass(frozen=True, slots=True)
class Alternate:
    """One ``<link rel="alternate" hreflang=…>``: this page in another language (or ``x-default``)."""

    hreflang: str
    href: str


@dataclass(frozen=True, slots=True)
class PageMeta:
    title: str
    description: str = ""
    canonical: str | None = None
    noindex: bool = False
    alternates: tuple[Alternate, ...] | None = None  # None: every language (see :func:`alternates`)


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
    """``url(name, **path_params, _query={...})``: a route's path under this mount.

    Paths of routes without parameters are looked up once per app: Starlette's
    ``url_path_for`` tries every route in turn, and a page asks for ``home`` or ``search``
    many times."""
    root = root_path(request)
    app = request.scope["app"]
    try:
        fixed = _FIXED_PATHS.setdefault(app, {})
    except TypeError:  # an app that cannot be weakly referenced: no memo
        fixed = {}

    def url(name: str, /, **params: Any) -> str:
        query = params.pop("_query", None)
        if params:
            path = root + str(app.url_path_for(name, **params))
        else:
            found = fixed.get(name)
            if found is None:
                found = fixed[name] = str(app.url_path_for(name))
            path = root + found
        return f"{path}?{urlencode(query)}" if query else path

    return url


_FIXED_PATHS: WeakKeyDictionary[Any, dict[str, str]] = WeakKeyDictionary()


def _canonical(state: PortalState, request: Request, locale: str) -> str | None:
    """The page's address under ``base_url``; other languages than the default add ``?lang=``."""
    base = state.settings.base_url
    if not base:
        return None
    route_path = request.url.path[len(root_path(request)) :] if request.url.path.startswith(root_path(request)) else request.url.path
    lang = "" if locale == state.supported_locales[0] else "?" + urlencode({QUERY: locale})
    return base.rstrip("/") + (route_path or "/") + lang


def alternates(state: PortalState, request: Request, locales: Sequence[str] | None = None) -> tuple[Alternate, ...]:
    """The page in each of ``locales`` (default: every supported one), plus ``x-default``
    (the default language's address, else the first's), for search engines' ``hreflang``.

    Absolute URLs under ``base_url``, so none without one; none for fewer than two languages.
    """
    codes = list(state.supported_locales if locales is None else locales)
    if not state.settings.base_url or len(codes) < 2:
        return ()
    links = [Alternate(tag(code), _canonical(state, request, code) or "") for code in codes]
    default = state.supported_locales[0] if state.supported_locales[0] in codes else codes[0]
    links.append(Alternate("x-default", _canonical(state, request, default) or ""))
    return tuple(links)


def render(
    request: Request,
    template: str,
    *,
    page: PageMeta,
    breadcrumbs: list[tuple[str, str | None]] | None = None,
    status: int = 200,
    switcher_query: Mapping[str, str] | None = None,
    **context: Any,
) -> Prepared:
    """Render a page in the request's locale.

    ``switcher_query`` is the query string the language switcher's links keep; leave it
    out for cached pages, which must not carry one visitor's query to the next.
    """
    state = portal_state(request)
    root = root_path(request)
    locale = request_locale(request)
    supported = state.supported_locales
    if page.canonical is None and status == 200:
        page = PageMeta(page.title, page.description, _canonical(state, request, locale), page.noindex, page.alternates)
    if status != 200 or page.noindex:  # hreflang: indexable pages only
        page = PageMeta(page.title, page.description, page.canonical, page.noindex, ())
    elif page.alternates is None:
        page = PageMeta(page.title, page.description, page.canonical, page.noindex, alternates(state, request))
    html = state.env.get_template(template).render(
        request=request,
        site=SiteInfo(state.settings.site_name, state.settings.locale, state.settings.base_url),
        url=url_builder(request),
        asset_url=lambda name: f"{root}/{state.assets.asset_url(name)}",
        page=page,
        breadcrumbs=breadcrumbs or [],
        locale=locale,
        languages=languages(request, supported, switcher_query),
        **context,
    )
    return prepare(fix_links(html, root), "text/html; charset=utf-8", status, page_headers(locale, supported))


def render_cached(request: Request, key: tuple[object, ...], build: Callable[[], Prepared]) -> Response:
    """Serve a content page from the page cache, rendering it on the first request.

    The key includes the request's locale: one copy of the page per language.
    """
    state = portal_state(request)
    full_key = (state.generation, root_path(request), request_locale(request), *key)
    prepared = state.cache.get_or_render(full_key, build)
    mark_shared(request.scope)
    return respond(request, prepared, max_age=state.settings.html_max_age)
