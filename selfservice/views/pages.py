"""Content pages: home, category, article, and the error pages every route falls back to."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..caching import Prepared, respond
from ..content import Article
from ..state import portal_state
from .rendering import PageMeta, render, render_cached, root_path, url_builder
from .seo import article_jsonld

__all__ = ["article", "category", "home", "http_error", "server_error"]

log = logging.getLogger("selfservice")

_TITLES = {
    400: "Bad request",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    422: "Please check the form",
    429: "Too many requests",
    500: "Something went wrong",
}


async def home(request: Request) -> Response:
    state = portal_state(request)

    def build() -> Prepared:
        lib = state.library
        cats = []
        for cat in lib.sorted_categories():
            cats.append(_CategoryView(cat.slug, cat.name, cat.description, cat.count, lib.in_category(cat.slug)[:5]))
        popular = _featured(lib)
        return render(
            request,
            "home.html",
            page=PageMeta(state.settings.site_name, f"Answers and help from {state.settings.site_name}."),
            categories=cats,
            popular=popular,
            recent=lib.recent(6),
        )

    return render_cached(request, ("home",), build)


def _featured(lib):  # type: ignore[no-untyped-def]
    """The first article of each category (by ``order:``) until search analytics rank them."""
    out = []
    for cat in lib.sorted_categories():
        arts = lib.in_category(cat.slug)
        if arts:
            out.append(arts[0])
    return out[:6]


class _CategoryView:
    __slots__ = ("slug", "name", "description", "count", "articles")

    def __init__(self, slug: str, name: str, description: str, count: int, articles: list[Article]) -> None:
        self.slug, self.name, self.description, self.count, self.articles = slug, name, description, count, articles


async def category(request: Request) -> Response:
    state = portal_state(request)
    slug = request.path_params["slug"]
    cat = state.library.categories.get(slug)
    if cat is None or not cat.slugs:
        raise HTTPException(404, f"There is no category called “{slug[:80]}”.")

    def build() -> Prepared:
        url = url_builder(request)
        return render(
            request,
            "category.html",
            page=PageMeta(f"{cat.name} – {state.settings.site_name}", cat.description or f"Help articles about {cat.name}."),
            breadcrumbs=[("Home", url("home")), (cat.name, None)],
            category=cat,
            articles=state.library.in_category(slug),
        )

    return render_cached(request, ("category", slug), build)


async def article(request: Request) -> Response:
    state = portal_state(request)
    slug = request.path_params["slug"]
    art = state.library.articles.get(slug)
    if art is None:
        raise HTTPException(404, f"We couldn’t find an article at “{slug[:80]}”. It may have moved: try searching.")

    def build() -> Prepared:
        url = url_builder(request)
        cat = state.library.categories.get(art.category)
        crumbs: list[tuple[str, str | None]] = [("Home", url("home"))]
        if cat is not None:
            crumbs.append((cat.name, url("category", slug=cat.slug)))
        crumbs.append((art.title, None))
        # Absolute only with a configured base URL: the page is cached, so it must not carry
        # whatever Host header its first visitor sent.
        base = (state.settings.base_url or root_path(request)).rstrip("/")
        jsonld = article_jsonld(
            art,
            base + art.url_path,
            [(label, base + href[len(root_path(request)) :] if href else base + art.url_path) for label, href in crumbs],
            state.settings.site_name,
        )
        return render(
            request,
            "article.html",
            page=PageMeta(f"{art.title} – {state.settings.site_name}", art.summary or art.body_text[:155]),
            breadcrumbs=crumbs,
            article=art,
            category=cat,
            related=state.library.related(art),
            jsonld=jsonld,
        )

    return render_cached(request, ("article", slug), build)


def _is_api(request: Request) -> bool:
    root = str(request.scope.get("root_path", ""))
    path = request.url.path
    return (path[len(root) :] if path.startswith(root) else path).startswith("/api/")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status in (204, 304) or status < 400:
        return Response(status_code=status, headers=exc.headers)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != _default_phrase(status) else _TITLES.get(status, "Error")
    if _is_api(request):
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=exc.headers)
    return _error_page(request, status, message, dict(exc.headers) if exc.headers else None)


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    title = _TITLES.get(status, "Error")
    try:
        template = "404.html" if status == 404 else "error.html"
        prepared = render(
            request,
            template,
            page=PageMeta(title, noindex=True),
            status=status,
            status_code=status,
            title=title,
            message=message,
        )
        response = respond(request, prepared)
    except Exception:  # the error page itself must never fail
        log.exception("error page failed to render")
        response = Response(f"{status} {title}: {message}", status_code=status, media_type="text/plain; charset=utf-8")
    response.headers["cache-control"] = "no-store"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "Sorry, something went wrong on our side. Please try again in a moment."
    if _is_api(request):
        return JSONResponse({"error": message, "status": 500}, status_code=500)
    return _error_page(request, 500, message)


