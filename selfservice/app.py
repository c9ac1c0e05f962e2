"""Builds the portal: a Starlette app made from one validated :class:`Settings`.

``create_portal`` loads and renders the content, opens (and if needed builds) the search
index and the Jinja environment *before* it returns, so a misconfiguration fails at start-up
with a message naming the field, and the first request is as fast as the thousandth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from .caching import ResponseCache
from .content import load_library
from .routing import IndexedRouter
from .search import SearchIndex
from .security import BodyLimitMiddleware, CORSMiddleware, SecurityHeadersMiddleware
from .settings import Settings
from .state import PortalState
from .store.desk import Desk
from .store.desk_requests import Requests
from .templating import build_environment
from .theming import StaticAssets, load_theme
from .views import api, manuals, pages, search, seo, staff, widget
from .views import accounts as account_views
from .views import hours as hours_views
from .views import feedback as feedback_views
from .views import requests as request_views

__all__ = ["Portal", "create_portal"]

log = logging.getLogger("selfservice")


class Portal(Starlette):
    """The ASGI app :func:`create_portal` returns; ``portal.ss`` holds its state and
    ``portal.desk`` the customer-input back office (store, outbox, hooks)."""

    ss: PortalState
    accounts: Any = None  # selfservice.accounts.Accounts when account pages are on
    hours: Any = None  # selfservice.hours.BusinessHours when opening hours are set
    clock: Any = None  # Settings.clock or the system clock: what "now" is for hours and tokens
    desk: Desk

    def __init__(self, *, routes: list[Any], lifespan: Any, **options: Any) -> None:
        super().__init__(routes=routes, lifespan=lifespan, **options)
        self.router = IndexedRouter(routes, lifespan=lifespan)  # fixed paths by dict (selfservice.routing)

    @property
    def requests(self) -> Requests:
        """The staff API for contact requests and complaints (:mod:`selfservice.store.desk_requests`)."""
        return self.desk.requests

    def survey_link(self, kind: str, context: dict[str, Any] | None = None, **options: Any) -> str:
        """A signed, expiring link to the ``"csat"`` or ``"nps"`` survey carrying ``context``."""
        return self.desk.survey_link(kind, context, **options)


def _error_handlers() -> dict[Any, Any]:
    return {HTTPException: pages.http_error, Exception: pages.server_error}


async def _watch(state: PortalState) -> None:
    """Writers' mode: reload within a second of a saved file (watchfiles, debounced)."""
    from watchfiles import awatch

    async for _changes in awatch(*state.settings.content_paths, debounce=150, step=50):
        try:
            slugs = await asyncio.to_thread(state.reload_content)
            if slugs:
                log.info("reloaded %d article(s): %s", len(slugs), ", ".join(sorted(slugs)[:10]))
        except Exception:  # a bad save must never stop the watcher
            log.exception("content reload failed; keeping the previous version")


def _open_now_memo(hours: Any, clock: Any, locale: str) -> Any:
    """"Open now" for the page strip, in the page's language (``locale`` when a template has
    none), worked out once per minute and language (opening hours have minute precision;
    working it out costs more than rendering the rest of a search page)."""
    memo: dict[str, tuple[str, Any]] = {}

    @jinja2.pass_context
    def open_now(context: jinja2.runtime.Context) -> Any:
        page_locale = context.get("locale")
        language = page_locale if isinstance(page_locale, str) and page_locale else locale
        at = clock()
        minute = at.replace(second=0, microsecond=0).isoformat()
        found = memo.get(language)
        if found is None or found[0] != minute:
            found = memo[language] = (minute, hours_views.open_now_view(hours, at, language))
        return found[1]

    return open_now


def _reranker(settings: Settings) -> Any:
    """The search re-ranker the settings ask for: ``"semantic"`` names the extra's own."""
    if settings.search_reranker == "semantic":
        from .search import SemanticReranker

        return SemanticReranker()
    return settings.search_reranker


def create_portal(settings: Settings | None = None, /, **overrides: Any) -> Portal:
    """Build the help-centre ASGI app. Mount it anywhere: ``Mount("/help", app=portal)``.

    Pass a :class:`Settings` or its fields as keyword arguments; the settings are
    validated here and :class:`~selfservice.errors.SettingsError` names the first bad field.
    """
    if settings is None:
        settings = Settings(**overrides)
    elif overrides:
        raise TypeError("pass either a Settings object or keyword arguments, not both")
    settings.validate()
    theme = load_theme(settings.theme)
    library = load_library(
        settings.content_paths, default_locale=settings.locale, cache_file=settings.render_cache_path
    )
    for problem in library.problems:
        log.warning("%s", problem)
    index = SearchIndex(
        settings.index_path,
        language=settings.locale.split("_")[0].split("-")[0],
        time_limit=settings.search_time_limit,
        max_terms=settings.max_query_terms,
        max_length=settings.max_query_length,
        reranker=_reranker(settings),
    )
    index.sync(library.indexable())
    assets = StaticAssets(theme, settings.theme_variables, max_age=settings.static_max_age)
    # -- accounts and opening hours (docs/accounts.md) --
    from .accounts.runtime import build_accounts
    from .hours import demo_business_hours, parse_business_hours, system_clock

    clock = settings.clock or system_clock
    hours = (parse_business_hours(settings.business_hours) if settings.business_hours is not None
             else demo_business_hours() if settings.demo else None)
    env = build_environment(settings, theme, zone=hours.zone if hours is not None else None)  # times in the hours' zone
    state = PortalState(settings, library, index, theme, assets, env)
    accounts = build_accounts(settings, env, state.get_store, clock)
    env.globals["accounts_enabled"] = accounts is not None
    env.globals["open_now"] = _open_now_memo(hours, clock, settings.locale) if hours is not None else (lambda: None)
    env.globals["feedback_reasons"] = feedback_views.REASONS
    desk = Desk(settings, env, get_store=state.get_store, clock=clock, at_loop_end=state.at_loop_end)
    if accounts is not None:
        accounts.wake_outbox = desk.wake  # account mail goes out through the same outbox worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await desk.open()  # fails start-up when the database is behind: run `selfservice db upgrade`
        task = asyncio.create_task(_watch(state)) if settings.watch else None
        try:
            yield
        finally:
            await desk.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.close_store()  # opened lazily by state.get_store(), if at all
            index.close()

    routes = [
        Route("/", pages.home, name="home", methods=["GET", "HEAD"]),
        Route("/c/{slug}", pages.category, name="category", methods=["GET", "HEAD"]),
        Route("/a/{slug}", pages.article, name="article", methods=["GET", "HEAD"]),
        Route("/search", search.search_page, name="search", methods=["GET", "HEAD"]),
        Route("/search/click/{key}", search.search_click, name="search_click", methods=["GET", "HEAD", "POST"]),
        Route("/m/{manual}", manuals.manual_latest, name="manual_latest", methods=["GET", "HEAD"]),
        Route("/m/{manual}/{version}/", manuals.manual_home, name="manual_home", methods=["GET", "HEAD"]),
        Route("/m/{manual}/{version}/print", manuals.print_view, name="manual_print", methods=["GET", "HEAD"]),
        Route("/m/{manual}/{version}/files/{path:path}", manuals.attachment, name="manual_file", methods=["GET", "HEAD"]),
        Route("/m/{manual}/{version}/{chapter}", manuals.chapter, name="chapter", methods=["GET", "HEAD"]),
        Route("/api/search", api.search, name="api_search", methods=["GET", "HEAD"]),
        Route("/api/answer", api.answer, name="api_answer", methods=["GET", "HEAD"]),
        Route("/api/actions", api.actions, name="api_actions", methods=["GET", "HEAD"]),
        Route("/api/articles", api.articles, name="api_articles", methods=["GET", "HEAD"]),
        Route("/api/articles/{slug}", api.article, name="api_article", methods=["GET", "HEAD"]),
        Route("/api/openapi.json", api.openapi, name="openapi", methods=["GET", "HEAD"]),
        Route("/robots.txt", seo.robots, name="robots", methods=["GET", "HEAD"]),
        Route("/sitemap.xml", seo.sitemap, name="sitemap", methods=["GET", "HEAD"]),
        Route("/feed.atom", seo.feed, name="feed", methods=["GET", "HEAD"]),
        Route("/opensearch.xml", seo.opensearch, name="opensearch", methods=["GET", "HEAD"]),
        Route("/api/contextual", widget.contextual, name="api_contextual", methods=["GET", "HEAD"]),
        Route("/api/contact", widget.contact_info, name="api_contact", methods=["GET", "HEAD"]),
        Route("/api/widget/strings", widget.widget_strings, name="api_widget_strings", methods=["GET", "HEAD"]),
        Route("/widget.js", widget.widget_js, name="widget_js", methods=["GET", "HEAD"]),
        *feedback_views.routes(),
        *request_views.routes(),
        Mount("/staff", routes=staff.routes(), name="staff"),
        Mount("/static", app=assets, name="static"),
    ]
    if hours is not None:
        routes.append(Route("/hours", hours_views.hours_page, name="hours", methods=["GET", "HEAD"]))
    if accounts is not None:
        routes += account_views.account_routes(accounts.actions)
    # Outermost first. OpenNowRefresh must see every request (it clears cached pages when a
    # channel opens or closes), so it sits in front of the response cache; the response
    # cache sits in front of the rest, so a hit skips them (their headers are in the entry).
    middleware = [
        Middleware(ResponseCache, cache=state.cache),
        Middleware(SecurityHeadersMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout),
        Middleware(CORSMiddleware, allowed_origins=settings.allowed_origins),
    ]
    if hours is not None:
        middleware.insert(0, Middleware(hours_views.OpenNowRefresh, hours=hours, clock=clock, clear=state.cache.clear))
    app = Portal(
        debug=False,
        routes=routes,
        middleware=middleware,
        exception_handlers=_error_handlers(),
        lifespan=lifespan,
    )
    app.ss = state
    app.accounts, app.hours, app.clock = accounts, hours, clock
    app.desk = desk
    desk.app = app
    return app
