"""Content pages: home, category, article, and the error pages every route falls back to.

Pages speak the request's locale (:mod:`selfservice.i18n`). An article is shown in the
visitor's language when it has a translation (``refunds.de.md``), else in its own with a
note saying so; lists show translated titles where there are some.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..caching import Prepared, respond
from ..content import Article, Library
from ..i18n import N_, language_name, request_locale, same_language, translator
from ..state import portal_state
from .rendering import PageMeta, alternates, render, render_cached, root_path, url_builder
from .seo import article_jsonld

__all__ = ["article", "category", "home", "http_error", "server_error"]

log = logging.getLogger("selfservice")

_TITLES = {
    400: N_("Bad request"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    413: N_("Request too large"),
    422: N_("Please check the form"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}
_ERROR = N_("Error")
_SORRY = N_("Sorry, something went wrong on our side. Please try again in a moment.")


async def home(request: Request) -> Response:
    state = portal_state(request)

    def build() -> Prepared:
        lib = state.library
        locale = request_locale(request)
        _ = translator(request).gettext
        cats = []
        for cat in lib.sorted_categories():
            arts = _localized(lib, lib.in_category(cat.slug)[:5], locale)
            cats.append(_CategoryView(cat.slug, cat.name, cat.description, cat.count, arts))
        popular = _localized(lib, _featured(lib), locale)
        site = state.settings.site_name
        return render(
            request,
            "home.html",
            page=PageMeta(site, _("Answers and help from %(site)s.") % {"site": site}),
            categories=cats,
            popular=popular,
            recent=_localized(lib, lib.recent(6), locale),
        )

    return render_cached(request, ("home",), build)


def _localized(lib: Library, articles: list[Article], locale: str) -> list[Article]:
    """Each article in ``locale`` where it is translated (same slug and URL)."""
    return [lib.localized(a, locale) for a in articles]


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
    _ = translator(request).gettext
    if cat is None or not cat.slugs:
        raise HTTPException(404, _("There is no category called “%(slug)s”.") % {"slug": slug[:80]})

    def build() -> Prepared:
        url = url_builder(request)
        lib = state.library
        return render(
            request,
            "category.html",
            page=PageMeta(f"{cat.name} – {state.settings.site_name}",
                          cat.description or _("Help articles about %(topic)s.") % {"topic": cat.name}),
            breadcrumbs=[(_("Home"), url("home")), (cat.name, None)],
            category=cat,
            articles=_localized(lib, lib.in_category(slug), request_locale(request)),
        )

    return render_cached(request, ("category", slug), build)


async def article(request: Request) -> Response:
    state = portal_state(request)
    slug = request.path_params["slug"]
    original = state.library.articles.get(slug)
    _ = translator(request).gettext
    if original is None:
        raise HTTPException(
            404, _("We couldn’t find an article at “%(slug)s”. It may have moved: try searching.") % {"slug": slug[:80]}
        )

    def build() -> Prepared:
        url = url_builder(request)
        lib = state.library
        locale = request_locale(request)
        art = lib.localized(original, locale)
        cat = lib.categories.get(original.category)
        crumbs: list[tuple[str, str | None]] = [(_("Home"), url("home"))]
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
            page=PageMeta(f"{art.title} – {state.settings.site_name}", art.summary or art.body_text[:155],
                          # hreflang only for the languages the article is written in
                          alternates=alternates(state, request, [code for code in state.supported_locales
                                                                 if same_language(lib.localized(original, code).locale, code)])),
            breadcrumbs=crumbs,
            article=art,
            category=cat,
            related=_localized(lib, lib.related(original), locale),
            jsonld=jsonld,
            # "not available in Deutsch": the language asked for, when the article is not in it
            missing_language=None if same_language(art.locale, locale) else language_name(locale),
            article_language=language_name(art.locale, locale),
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
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != _default_phrase(status) else None
    if _is_api(request):  # the API's messages stay in one language for the programs reading them
        message = detail or _TITLES.get(status, _ERROR)
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=exc.headers)
    # A detail marked with N_ where it is raised is in the catalog: shown in the page's language.
    message = _safe_gettext(request)(detail or _TITLES.get(status, _ERROR))
    return _error_page(request, status, message, dict(exc.headers) if exc.headers else None)


def _safe_gettext(request: Request) -> Callable[[str], str]:
    """The request's gettext, or none: an error page must render whatever went wrong."""
    try:
        return translator(request).gettext
    except Exception:  # pragma: no cover - only without a portal in the scope
        log.exception("no catalog for the error page")
        return str


def _default_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    title = _safe_gettext(request)(_TITLES.get(status, _ERROR))
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
    if _is_api(request):
        return JSONResponse({"error": _SORRY, "status": 500}, status_code=500)
    return _error_page(request, 500, _safe_gettext(request)(_SORRY))


