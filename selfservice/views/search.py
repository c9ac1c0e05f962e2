"""The search pages: results with highlighted snippets, facets, a direct answer and paging
(no JS), the click-through that records which result was opened, and autocomplete.

Every search is recorded for analytics (``portal.desk.searches``): queued in memory, written
in the background, never slowing or breaking the page. A results page carries its search's
key in ``k=`` (paging links) and in its result links (``/search/click/{key}``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..caching import respond
from ..i18n import request_locale, translator
from ..ratelimit import client_ip
from ..search import Answer, Facets, SearchResults
from ..state import portal_state
from ..store.desk_search import KEY_RE
from .accounts import action_links
from .rendering import PageMeta, render, root_path, url_builder

__all__ = [
    "FILTERS", "MAX_FILTER_LENGTH", "MIN_CHARS", "AnswerView", "FacetGroup", "FacetLink", "HitView", "answer_view", "autocomplete",
    "parse_filters", "parse_int", "record_search", "search_click", "search_page",
]

log = logging.getLogger("selfservice")

FILTERS = ("category", "tag", "locale", "manual")
MAX_FILTER_LENGTH = 200
MIN_CHARS = 3  # typed before autocomplete offers anything


@dataclass(frozen=True, slots=True)
class HitView:
    """A search hit as the template shows it: where it lives and which manual it is from."""

    slug: str
    title: str
    summary: str
    category: str
    score: float
    snippet: str  # safe HTML with <mark>
    url: str  # the page itself: a real link customers can copy, open in a tab or bookmark
    manual: str | None  # "Larkspur Hub user manual 3.x" for chapters
    click: str | None = None  # where the browser pings when the link is followed (the search was recorded)


@dataclass(frozen=True, slots=True)
class ResultsView:
    total: int
    hits: list[HitView]
    message: str | None
    suggestion: str | None


@dataclass(frozen=True, slots=True)
class AnswerView:
    """A direct answer: plain ``text`` (escaped like any other), ``url`` opens its section."""

    slug: str
    title: str
    heading: str | None
    url: str
    text: str


@dataclass(frozen=True, slots=True)
class FacetLink:
    """One facet value: following ``url`` adds the filter (or removes it when ``active``)."""

    value: str
    label: str
    count: int
    url: str
    active: bool


@dataclass(frozen=True, slots=True)
class FacetGroup:
    name: str  # "category", "tag", "manual"
    title: str
    links: list[FacetLink]


def parse_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """A bounded integer query parameter; a bad value is the customer's 400, not our 500."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    _ = translator(request).gettext
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, _("“%(name)s” must be a whole number.") % {"name": name}) from None
    if not lo <= value <= hi:
        raise HTTPException(400, _("“%(name)s” must be between %(lo)s and %(hi)s.") % {"name": name, "lo": lo, "hi": hi})
    return value


def parse_filters(request: Request) -> dict[str, str | None]:
    """``category``, ``tag``, ``locale`` and ``manual`` from the query string (empty: no filter)."""
    filters = {k: request.query_params.get(k) or None for k in FILTERS}
    for name, value in filters.items():
        if value is not None and len(value) > MAX_FILTER_LENGTH:
            _ = translator(request).gettext
            raise HTTPException(400, _("“%(name)s” is too long.") % {"name": name})
    return filters


def record_search(request: Request, query: str, total: int) -> str | None:
    """Queue the search for analytics; its key for click-through links. Never raises."""
    desk = getattr(request.scope.get("app"), "desk", None)
    if desk is None or request.method == "HEAD":  # a HEAD is a link checker, not a customer
        return None
    try:
        key: str | None = desk.searches.record(query, total, request_locale(request))
        return key
    except Exception:  # noqa: BLE001 - analytics must never break a search
        log.exception("could not queue a search event")
        return None


async def search_page(request: Request) -> Response:
    state = portal_state(request)
    query = request.query_params.get("q", "").strip()
    page_number = parse_int(request, "page", 1, 1, 1000)
    size = state.settings.page_size
    filters = parse_filters(request)
    active = {k: v for k, v in filters.items() if v}
    results = answer = None
    facets: list[FacetGroup] = []
    page_count = 0
    prev_url = next_url = None
    url = url_builder(request)
    if query:
        offset = (page_number - 1) * size
        ask = (state, query, size, offset, filters, page_number == 1 and not active, request_locale(request))
        cached, found = _cached_search_and_answer(*ask)
        if cached is None:  # not in the caches: off the event loop
            raw, found = await run_in_threadpool(_search_and_answer, *ask)
        else:
            raw = cached
        given = request.query_params.get("k", "")
        key = given if KEY_RE.fullmatch(given) else record_search(request, query, raw.total)
        results = _view(request, raw, request_locale(request), key, offset)
        answer = answer_view(request, found, root_path(request)) if found is not None else None
        facets = _facets(request, query, active, raw.facets)
        page_count = max(1, math.ceil(results.total / size))
        base: dict[str, Any] = {"q": query, **active, **({"k": key} if key else {})}
        if page_number > 1:
            prev_url = url("search", _query={**base, "page": page_number - 1})
        if page_number < page_count:
            next_url = url("search", _query={**base, "page": page_number + 1})
    _ = translator(request).gettext
    title = _("Search results for “%(query)s”") % {"query": query} if query else _("Search")
    prepared = render(
        request,
        "search.html",
        page=PageMeta(f"{title} – {state.settings.site_name}", noindex=True),
        breadcrumbs=[(_("Home"), url("home")), (_("Search"), None)],
        switcher_query=dict(request.query_params),
        query=query,
        results=results,
        answer=answer,
        actions=await action_links(request, query) if query else [],
        facets=facets,
        filters=active,
        page_number=page_number,
        page_count=page_count,
        prev_url=prev_url,
        next_url=next_url,
    )
    return respond(request, prepared, max_age=0, private=True)


def _search_and_answer(state: Any, query: str, limit: int, offset: int, filters: dict[str, str | None],
                       with_answer: bool, language: str) -> tuple[SearchResults, Answer | None]:
    """Off the event loop (whoosh is synchronous and CPU-bound): the page, its facets, the answer.

    The answer is worked out only where it is shown (first page, no filters; cached per index
    generation): an answer does not follow filters."""
    raw = state.index.search(query, limit=limit, offset=offset, facets=True, language=language, **filters)
    return raw, state.index.answer(query, language=language) if with_answer and raw.total else None


def _cached_search_and_answer(state: Any, query: str, limit: int, offset: int, filters: dict[str, str | None],
                              with_answer: bool, language: str) -> tuple[SearchResults | None, Answer | None]:
    """The same from the index's caches, on the event loop (a thread costs more than a cached
    search); ``(None, None)`` unless both are cached."""
    raw = state.index.cached(query, limit=limit, offset=offset, facets=True, language=language, **filters)
    if raw is None or not (with_answer and raw.total):
        return raw, None
    known, found = state.index.cached_answer(query, language=language)
    return (raw, found) if known else (None, None)


def answer_view(request: Request, found: Answer, root: str) -> AnswerView | None:
    """The answer with a link to its section (``root``: the portal's path or absolute URL)."""
    doc = portal_state(request).library.document(found.slug)
    if doc is None:
        return None
    anchor = f"#{found.anchor}" if found.anchor else ""
    # found.title: the title of the language version the answer quotes
    return AnswerView(found.slug, found.title, found.heading, root + doc.url_path + anchor, found.text)


def _facets(request: Request, query: str, active: dict[str, str], counted: Facets | None) -> list[FacetGroup]:
    """Facet links that add a filter to the search, or remove the active one."""
    if counted is None:
        return []
    _ = translator(request).gettext
    search_url = url_builder(request)("search") + "?" + urlencode({"q": query})  # once: ~50 links per page
    lib = portal_state(request).library
    titles = {"category": _("Category"), "manual": _("Manual"), "tag": _("Tag")}
    groups = []
    for name in ("category", "manual", "tag"):
        counts = {fc.value: fc.count for fc in getattr(counted, name)}
        current = active.get(name)
        if current is not None and current not in counts:
            counts[current] = 0
        if not counts or (len(counts) == 1 and current is None and name != "category"):
            continue  # one value everywhere: no choice to offer
        links = []
        for value, count in list(counts.items())[:20 if name == "tag" else 50]:
            params = {k: v for k, v in active.items() if k != name}
            if value != current:
                params[name] = value
            links.append(FacetLink(value, _facet_label(lib, name, value), count,
                                   f"{search_url}&{urlencode(params)}" if params else search_url, value == current))
        groups.append(FacetGroup(name, titles[name], links))
    return groups


def _facet_label(lib: Any, name: str, value: str) -> str:
    if name == "category":
        category = lib.categories.get(value)
        return str(category.name) if category is not None else value.replace("-", " ").capitalize()
    if name == "manual":
        mid, _, version = value.partition("/")
        manual = lib.manuals.get(mid, {}).get(version)
        return f"{manual.title} {manual.version}" if manual is not None else value
    return value


def _view(request: Request, raw: SearchResults, locale: str, key: str | None, offset: int) -> ResultsView:
    """Hits as the template shows them; an article's title and summary in ``locale`` where translated."""
    lib = portal_state(request).library
    root = root_path(request)
    click_url = url_builder(request)("search_click", key=key) + "?" if key else None
    hits = []
    for rank, h in enumerate(raw.hits, start=offset + 1):
        doc = lib.document(h.slug)
        manual = None
        if doc is not None and doc.manual:
            mid, _, version = doc.manual.partition("/")
            m = lib.manuals.get(mid, {}).get(version)
            manual = f"{m.title} {m.version}" if m else doc.manual
        link = root + (doc.url_path if doc is not None else f"/a/{h.slug}")
        click = click_url + urlencode({"to": h.slug, "rank": rank}) if click_url and doc else None
        shown = lib.localized(doc, locale) if doc is not None and not doc.manual else doc
        if shown is not None and shown is not doc:  # the snippet stays: it quotes the text that matched
            hits.append(HitView(h.slug, shown.title, shown.summary, h.category, h.score, h.snippet, link, manual, click))
            continue
        hits.append(HitView(h.slug, h.title, h.summary, h.category, h.score, h.snippet, link, manual, click))
    return ResultsView(raw.total, hits, raw.message, raw.suggestion)


async def search_click(request: Request) -> Response:
    """``/search/click/{key}?to=<slug>&rank=<n>``: record the opened result.

    ``POST`` is the browser's ping (``<a ping>`` on each result, sent as the customer follows
    the real link): 204. ``GET`` (the API's ``click_url``) records, then redirects there."""
    state = portal_state(request)
    slug = request.query_params.get("to", "")
    doc = state.library.document(slug) if len(slug) <= 300 else None
    if doc is None:
        raise HTTPException(404, translator(request).gettext("That article is no longer here. Try searching for it."))
    rank = parse_int(request, "rank", 0, 1, 100_000) or None
    desk = getattr(request.scope.get("app"), "desk", None)
    key = request.path_params["key"]
    if desk is not None and KEY_RE.fullmatch(key) and not desk.limits.hit("feedback", client_ip(request)):
        try:
            desk.searches.click(key, slug, rank)
        except Exception:  # noqa: BLE001 - the customer still gets their article
            log.exception("could not queue a search click")
    if request.method == "POST":
        return Response(status_code=204, headers={"cache-control": "no-store"})
    response = RedirectResponse(root_path(request) + doc.url_path, status_code=303)
    response.headers["cache-control"] = "no-store"
    return response


async def autocomplete(request: Request) -> Response:
    """``GET /api/suggest?q=…``: titles (and popular queries) for what is typed so far.

    From memory only (the index's title list, the desk's popular queries): no database
    round-trip, no rate limit, cacheable for a minute. Like the form suggestions on the same
    path, nothing is offered before :data:`MIN_CHARS` characters (almost every title matches).
    """
    q = request.query_params.get("q")
    if q is None:
        return _json_error(400, "Give the text typed so far as q.")
    if len(q) > 1000:
        return _json_error(400, "q is too long.")
    limit = parse_int(request, "limit", 8, 1, 20)
    state = portal_state(request)
    root = root_path(request)
    suggestions: list[dict[str, str]] = []
    if len(" ".join(q.split())) < MIN_CHARS:
        return _autocomplete_response(q, [], [])
    locale = request_locale(request)
    for s in state.index.suggest(q, limit, language=locale):
        doc = state.library.document(s.slug)
        if doc is not None:
            shown = state.library.localized(doc, locale) if not doc.manual else doc
            suggestions.append({"slug": s.slug, "title": shown.title, "url": root + doc.url_path,
                                "page_url": root + doc.url_path})
    desk = getattr(request.scope.get("app"), "desk", None)
    queries = desk.searches.popular(q, min(5, limit)) if desk is not None else []
    return _autocomplete_response(q, suggestions, queries)


def _autocomplete_response(q: str, suggestions: list[dict[str, str]], queries: list[str]) -> Response:
    response = JSONResponse({"query": q, "suggestions": suggestions, "queries": queries})
    response.headers["cache-control"] = "max-age=60"
    return response


def _json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message, "status": status}, status_code=status)
