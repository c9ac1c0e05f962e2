"""The server-rendered search page: results with highlighted snippets and paging, no JS."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..caching import respond
from ..i18n import request_locale, translator
from ..state import portal_state
from .rendering import PageMeta, render, url_builder

__all__ = ["FILTERS", "HitView", "parse_int", "search_page"]

FILTERS = ("category", "tag", "manual")


@dataclass(frozen=True, slots=True)
class HitView:
    """A search hit as the template shows it: where it lives and which manual it is from."""

    slug: str
    title: str
    summary: str
    category: str
    score: float
    snippet: str  # safe HTML with <mark>
    url: str
    manual: str | None  # "Larkspur Hub user manual 3.x" for chapters


@dataclass(frozen=True, slots=True)
class ResultsView:
    total: int
    hits: list[HitView]
    message: str | None
    suggestion: str | None


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


async def search_page(request: Request) -> Response:
    state = portal_state(request)
    query = request.query_params.get("q", "").strip()
    page_number = parse_int(request, "page", 1, 1, 1000)
    size = state.settings.page_size
    filters = {k: request.query_params.get(k) or None for k in FILTERS}
    results = None
    page_count = 0
    prev_url = next_url = None
    if query:
        raw = await _run_search(state, query, size, (page_number - 1) * size, filters)
        results = _view(request, raw, request_locale(request))
        page_count = max(1, math.ceil(results.total / size))
        url = url_builder(request)
        base = {"q": query, **{k: v for k, v in filters.items() if v}}
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
        breadcrumbs=[(_("Home"), url_builder(request)("home")), (_("Search"), None)],
        switcher_query=dict(request.query_params),
        query=query,
        results=results,
        page_number=page_number,
        page_count=page_count,
        prev_url=prev_url,
        next_url=next_url,
    )
    return respond(request, prepared, max_age=0, private=True)


def _view(request: Request, raw: Any, locale: str) -> ResultsView:
    """Hits as the template shows them; an article's title and summary in ``locale`` where translated."""
    lib = portal_state(request).library
    root = str(request.scope.get("root_path", "")).rstrip("/")
    hits = []
    for h in raw.hits:
        doc = lib.document(h.slug)
        manual = None
        if doc is not None and doc.manual:
            mid, _, version = doc.manual.partition("/")
            m = lib.manuals.get(mid, {}).get(version)
            manual = f"{m.title} {m.version}" if m else doc.manual
        url = root + (doc.url_path if doc is not None else f"/a/{h.slug}")
        shown = lib.localized(doc, locale) if doc is not None and not doc.manual else doc
        if shown is not None and shown is not doc:  # the snippet stays: it quotes the text that matched
            hits.append(HitView(h.slug, shown.title, shown.summary, h.category, h.score, h.snippet, url, manual))
            continue
        hits.append(HitView(h.slug, h.title, h.summary, h.category, h.score, h.snippet, url, manual))
    return ResultsView(raw.total, hits, raw.message, raw.suggestion)


async def _run_search(state: Any, query: str, limit: int, offset: int, filters: dict[str, str | None]) -> Any:
    """Run a search off the event loop: whoosh is synchronous and CPU-bound."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(state.index.search, query, limit=limit, offset=offset, **filters)
