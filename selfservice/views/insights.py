"""The staff insights dashboard: ``/staff/insights``, its CSV downloads and "write an article".

* ``GET /staff/insights`` — every figure of :mod:`selfservice.insights` for a period: the last
  7, 30 or 90 days (``?days=``, default 30) or ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (UTC days,
  both included). A date that is not a date, ``to`` before ``from``, or a period longer than
  :data:`MAX_DAYS` is a 400 that says so. Charts are inline SVG (:mod:`selfservice.charts`).
* ``GET /staff/insights/{table}.csv`` — one table of the same period, as CSV (404 for a
  table the dashboard does not have). Cells a spreadsheet would run as a formula (starting
  with ``= + - @``, tab or carriage return) get a leading ``'``: queries are customer input.
* ``GET /staff/insights/new-article?q=…`` — a draft article for a search that found nothing
  or was not clicked, as a markdown download named by its slug (:mod:`selfservice.scaffold`,
  the same draft as ``selfservice new``). It changes nothing on the server, so it is a GET.

Every route is :func:`~.staff.staff_only`: 403 without ``Settings.is_staff``, never cached.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..charts import bar_chart, format_cell, line_chart
from ..insights import METRICS, Dashboard, Period, build_dashboard
from ..scaffold import article_draft, slugify
from ..state import portal_state
from .feedback import desk_of, page
from .staff import staff_only

__all__ = ["MAX_DAYS", "PRESETS", "csv_cell", "parse_period", "routes"]

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: longer periods are a typo, and would only make the page slow
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)  # the day after LATEST must still be a date
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def parse_period(params: Any, today: date) -> Period:
    """The period a query string asks for; :class:`HTTPException` 400 with the reason if it is wrong."""
    start, end = params.get("from", "").strip(), params.get("to", "").strip()
    if start or end:
        if not (start and end):
            raise HTTPException(400, "Give both dates of the period, from and to (YYYY-MM-DD).")
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            raise HTTPException(400, "Dates must be written YYYY-MM-DD, for example 2026-11-01.") from None
        if first < EARLIEST or last > LATEST:
            raise HTTPException(400, f"Choose dates from {EARLIEST.isoformat()} to {LATEST.isoformat()}.")
        if last < first:
            raise HTTPException(400, "The period ends before it starts: choose a 'to' date on or after 'from'.")
        if (last - first).days + 1 > MAX_DAYS:
            raise HTTPException(400, f"Choose a period of at most {MAX_DAYS} days.")
        return Period(first, last)
    days = params.get("days", str(DEFAULT_DAYS))
    if days not in {str(n) for n in PRESETS}:
        raise HTTPException(400, f"days must be one of {', '.join(str(n) for n in PRESETS)}.")
    return Period.last_days(int(days), today)


async def _dashboard_for(request: Request) -> Dashboard:
    desk = desk_of(request)
    now = desk.clock()
    period = parse_period(request.query_params, now.date())
    lib = portal_state(request).library
    titles = {slug: doc.title for slug, doc in lib.articles.items()}
    return await build_dashboard(await desk.store(), period, now, titles=titles,
                                 keep_days=desk.settings.search_retention_days)


def _charts(board: Dashboard) -> dict[str, Any]:
    t = board.tables
    charts: dict[str, Any] = {}

    def add(key: str, draw: Any, value: int, title: str, unit: str = "") -> None:
        table = t[key]
        if table.rows and any(row[value] for row in table.rows):
            charts[key] = draw(f"chart-{key}", title, table.caption, table.headers, table.rows, value=value, unit=unit)

    add("searches-by-day", line_chart, 1, "Searches per day")
    add("rank-ctr", bar_chart, 2, "Click-through by result rank", "%")
    add("csat", bar_chart, 1, "CSAT answers by score (1 to 5)")
    add("nps", bar_chart, 2, "NPS answers by score (0 to 10)")
    add("complaints", bar_chart, 1, "Complaints by status")
    return charts


@staff_only
async def dashboard(request: Request) -> Response:
    board = await _dashboard_for(request)
    period = board.period
    query = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    return page(request, "staff/insights.html", title="Insights", staff_nav="insights", board=board,
                metrics=METRICS, charts=_charts(board), cell=format_cell, period_query=query, presets=PRESETS)


def csv_cell(value: Any) -> str:
    """A cell as CSV text: empty for no data, and never a formula a spreadsheet would run."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_START) else text


@staff_only
async def table_csv(request: Request) -> Response:
    key = request.path_params["table"]
    if key not in METRICS or key == "searches":
        raise HTTPException(404, "The dashboard has no table of that name.")
    board = await _dashboard_for(request)
    table = board.tables[key]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([csv_cell(v) for v in row] for row in table.rows)
    name = f"insights-{key}-{board.period.first.isoformat()}-{board.period.last.isoformat()}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@staff_only
async def new_article(request: Request) -> Response:
    query = " ".join(request.query_params.get("q", "").split())
    if not query or len(query) > 200:
        raise HTTPException(400, "Give the search the article should answer as q (1 to 200 characters).")
    slug = slugify(query)
    if not slug:
        raise HTTPException(400, "The search needs at least one letter or digit to name the article.")
    title = query[:1].upper() + query[1:]
    body = article_draft(title, keywords=[query], today=desk_of(request).clock().date())
    return Response(body, media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{slug}.md"'})


def routes() -> list[BaseRoute]:
    return [
        Route("/insights", dashboard, name="insights", methods=["GET", "HEAD"]),
        Route("/insights/new-article", new_article, name="insights_new_article", methods=["GET", "HEAD"]),
        Route("/insights/{table}.csv", table_csv, name="insights_csv", methods=["GET", "HEAD"]),
    ]

