"""The insights dashboard: every formula on a small fixed data set whose expected values were
worked out by hand (the arithmetic is in the comments), on SQLite and PostgreSQL; the search
rollups count exactly what the raw rows count; and the staff pages (403, empty periods, CSV
downloads, CSV injection, bad periods → 400, accessible SVG charts, article drafts)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.testclient import TestClient

from selfservice import Portal
from selfservice.charts import bar_chart, line_chart
from selfservice.insights import (
    Period,
    build_dashboard,
    csat,
    first_response,
    handle_time,
    mean,
    median,
    nps,
    percent,
    resolution_time,
    response_waits,
    wilson_lower_bound,
)
from selfservice.scaffold import article_draft, slugify
from selfservice.store import Store, tables
from selfservice.store.insights import RequestFacts, TimelineEvent
from selfservice.store.search_rollups import search_stats, summarise
from selfservice.views.insights import csv_cell
from tests.test_feedback import db_settings, portal_for  # noqa: F401

NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 3))
STAFF = {"x-staff": "yes"}


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# -- the formulas alone ---------------------------------------------------------------------------


def test_wilson_lower_bound_percent_mean_median_by_hand() -> None:
    # 8 of 10: p = 0.8, z² = 3.8416; centre = 0.8 + 3.8416/20 = 0.99208;
    # spread = 1.96·√(0.8·0.2/10 + 3.8416/400) = 1.96·√0.025604 = 0.313624;
    # lower = (0.99208 − 0.313624) / (1 + 3.8416/10) = 0.678456 / 1.38416 = 0.49016
    assert wilson_lower_bound(8, 10) == pytest.approx(0.49016, abs=1e-5)
    # 2 of 5: centre = 0.4 + 3.8416/10 = 0.78416; spread = 1.96·√(0.24/5 + 3.8416/100) = 0.576173;
    # lower = 0.207987 / 1.76832 = 0.117620
    assert wilson_lower_bound(2, 5) == pytest.approx(0.117620, abs=1e-5)
    assert wilson_lower_bound(0, 0) is None
    assert wilson_lower_bound(1, 1) < wilson_lower_bound(90, 100)  # type: ignore[operator]  # luck is discounted
    assert percent(2, 7) == 28.6 and percent(0, 0) is None and percent(0, 5) == 0.0
    assert mean([2.0, 4.0, 9.0]) == 5.0 and median([2.0, 4.0, 9.0]) == 4.0 and median([2.0, 9.0]) == 5.5
    assert mean([]) is None and median([]) is None


def test_csat_and_nps_by_hand_and_no_answers_is_no_data() -> None:
    # CSAT: 5,5,4,3,1 → Σ = 18 over 5 answers = 3.6; satisfied (4–5) = 3/5 = 60 %
    result = csat({5: 2, 4: 1, 3: 1, 1: 1})
    assert result is not None
    assert (result.answers, result.average, result.satisfied_percent) == (5, 3.6, 60.0)
    assert result.distribution == {1: 1, 2: 0, 3: 1, 4: 1, 5: 2}
    # NPS: 10 answers; promoters 9–10: 3 + 2 = 5; passives 7–8: 2 + 1 = 3; detractors 0–6: 1 + 1 = 2;
    # NPS = 100 · (5 − 2) / 10 = 30
    score = nps({10: 3, 9: 2, 8: 2, 7: 1, 5: 1, 0: 1})
    assert score is not None
    assert (score.answers, score.promoters, score.passives, score.detractors, score.score) == (10, 5, 3, 2, 30.0)
    # all detractors: 100 · (0 − 4) / 4 = −100
    assert nps({0: 1, 6: 3}).score == -100.0  # type: ignore[union-attr]
    assert csat({}) is None and nps({}) is None


def _timeline() -> RequestFacts:
    """Sent Sun 09:00; acknowledged 09:05; staff reply 11:00 and waiting for the customer; the
    customer answers Mon 09:00 (in progress again); an internal note 10:00; staff reply and
    resolved Mon 13:00."""
    ev = [
        TimelineEvent(at(1, 9), "status", "customer", "received", False),
        TimelineEvent(at(1, 9, 5), "status", "system", "acknowledged", False),
        TimelineEvent(at(1, 11), "reply", "staff", None, False),
        TimelineEvent(at(1, 11), "status", "staff", "waiting_for_customer", False),
        TimelineEvent(at(2, 9), "reply", "customer", None, False),
        TimelineEvent(at(2, 9), "status", "customer", "in_progress", False),
        TimelineEvent(at(2, 10), "reply", "staff", None, True),  # internal: not a reply to the customer
        TimelineEvent(at(2, 13), "reply", "staff", None, False),
        TimelineEvent(at(2, 13), "status", "staff", "resolved", False),
    ]
    return RequestFacts("R-1", "contact", "resolved", "Charged twice", at(1, 9), at(2, 13), None, None, ev)


def test_request_times_by_hand() -> None:
    r = _timeline()
    assert first_response(r) == timedelta(hours=2)  # 09:00 → 11:00
    # each staff reply: 09:00 → 11:00 = 2 h; customer Mon 09:00 → staff 13:00 = 4 h (the note is internal)
    assert response_waits(r) == [timedelta(hours=2), timedelta(hours=4)]
    assert resolution_time(r) == timedelta(hours=28)  # Sun 09:00 → Mon 13:00
    # ours: received 5 min + acknowledged 1 h 55 min + in progress 09:00 → 13:00 = 4 h → 6 h
    # (waiting for the customer, Sun 11:00 → Mon 09:00 = 22 h, is the customer's time)
    assert handle_time(r) == timedelta(hours=6)
    unanswered = RequestFacts("R-2", "contact", "received", "x", at(1, 9), None, None, None, [])
    assert (first_response(unanswered), response_waits(unanswered), resolution_time(unanswered),
            handle_time(unanswered)) == (None, [], None, None)


def test_charts_are_accessible_svg_with_a_data_table() -> None:
    rows = [(1, 2, 28.6), (2, 1, 14.3), (3, 0, 0.0)]
    html = str(bar_chart("c1", "Click-through by rank", "Clicks by rank", ("Rank", "Clicks", "%"), rows, value=2, unit="%"))
    assert 'role="img"' in html and 'aria-labelledby="c1-title c1-desc"' in html
    assert '<title id="c1-title">Click-through by rank</title>' in html
    assert re.search(r'<desc id="c1-desc">3 values\. Highest: 1, 28\.6%\. Lowest: 3, 0\.0%\.</desc>', html)
    assert html.count('class="ss-chart__bar"') == 3 and "<caption>Clicks by rank</caption>" in html
    assert '<th scope="col">Rank</th>' in html and '<th scope="row">1</th>' in html
    assert "style" not in html and "fill=" not in html, "colours come from the theme's CSS, not the SVG"
    evil = str(line_chart("c2", "<b>", "cap", ("Day", "n"), [("<script>", 1), ("b", 3)]))
    assert "<script>" not in evil and "&lt;script&gt;" in evil and "<polyline" in evil


def test_article_draft_is_the_cli_scaffold_with_the_query_as_keyword() -> None:
    text = article_draft("Reset my password", keywords=["reset my password"], today=date(2026, 11, 23))
    assert text.startswith('---\ntitle: "Reset my password"\nsummary: One sentence')
    assert 'keywords: ["reset my password"]\nupdated: 2026-11-23\ndraft: true\n---\n' in text
    assert slugify("Où est ma commande ?!") == "o-est-ma-commande" and slugify("!!!") == ""


def test_csv_cells_never_start_a_formula() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+SUM(A1)", "-2", "@x", "\tx", "ok", -5.0, 3, None)] == [
        "'=1+1", "'+SUM(A1)", "'-2", "'@x", "'\tx", "ok", "-5.0", "3", ""]


# -- the fixed data set, on both backends ---------------------------------------------------------

# (created_at, query, results, clicked rank or None)
SEARCHES = [
    (at(1, 8), "reset password", 5, 1), (at(1, 9), "reset password", 5, 2), (at(1, 10), "reset password", 5, None),
    (at(1, 11), "refund", 0, None), (at(1, 12), "refund", 0, None),
    (at(2, 8), "reset password", 3, 1), (at(2, 9), "invoice copy", 2, None), (at(2, 10), "invoice copy", 2, None),
    (at(2, 11), "refund", 0, None),
    (at(3, 23, 59), "invoice copy", 4, 3),
    # outside the period: the evening before, the first instant after, and 1 October (a whole month)
    (datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC), "reset password", 5, None),
    (at(4, 0), "refund", 0, None),
    (at(1, 0, month=10), "reset password", 5, None),
]


async def _fill(conn: AsyncConnection) -> None:
    await conn.execute(insert(tables.search_events), [
        {"created_at": t, "query_norm": q, "locale": "en", "result_count": n, "zero_results": n == 0,
         "clicked_slug": "some-article" if rank else None, "clicked_rank": rank} for t, q, n, rank in SEARCHES])
    votes = [("refunds", True, None, None), ("refunds", True, None, None), ("refunds", False, "wrong", None),
             ("refunds", False, "wrong", "Prices changed"), ("refunds", False, "unclear", None)]
    votes += [("reset-password", True, None, None)] * 8 + [("reset-password", False, None, None)] * 2
    await conn.execute(insert(tables.votes), [
        {"created_at": at(1), "updated_at": at(3, 10) if comment else at(2), "page_kind": "article", "page_slug": slug,
         "visitor_hash": f"v{i}", "helpful": helpful, "reason": reason, "comment": comment}
        for i, (slug, helpful, reason, comment) in enumerate(votes)])
    await conn.execute(insert(tables.votes).values(  # changed after the period: not counted
        created_at=at(1), updated_at=at(4, 1), page_kind="article", page_slug="refunds", visitor_hash="late",
        helpful=True))
    surveys = [("csat", 5), ("csat", 5), ("csat", 4), ("csat", 3), ("csat", 1)]
    surveys += [("nps", 10)] * 3 + [("nps", 9)] * 2 + [("nps", 8)] * 2 + [("nps", 7), ("nps", 5), ("nps", 0)]
    await conn.execute(insert(tables.surveys), [{"created_at": at(2), "kind": k, "score": s, "context": {}}
                                                for k, s in surveys])
    await conn.execute(insert(tables.surveys).values(created_at=at(4, 1), kind="csat", score=1, context={}))
    await conn.execute(insert(tables.deflections), [
        {"created_at": at(1, 9), "form": "contact", "query_norm": "refund", "suggested": ["refunds"],
         "clicked_slug": None, "session_hash": "A"},
        {"created_at": at(1, 10), "form": "contact", "query_norm": "refund late", "suggested": ["refunds"],
         "clicked_slug": "refunds", "session_hash": "A"},
        {"created_at": at(1, 9), "form": "contact", "query_norm": "card", "suggested": ["refunds"],
         "clicked_slug": None, "session_hash": "B"},
        {"created_at": at(2, 9), "form": "complaint", "query_norm": "card again", "suggested": ["refunds"],
         "clicked_slug": "refunds", "session_hash": "B"},
        {"created_at": at(3, 9), "form": "contact", "query_norm": "where", "suggested": ["refunds"],
         "clicked_slug": None, "session_hash": "C"},
    ])

    async def request(reference: str, kind: str, status: str, created: datetime, events: list[tuple[Any, ...]],
                      **extra: Any) -> None:
        new = insert(tables.requests).values(
            reference=reference, kind=kind, status=status, topic="billing", subject=f"About {reference}",
            message="Please help with my order.", email="ada@example.com", locale="en", created_at=created, **extra)
        rid = (await conn.execute(new.returning(tables.requests.c.id))).scalar_one()
        await conn.execute(insert(tables.request_events), [
            {"request_id": rid, "created_at": t, "kind": k, "author": a, "status": s, "internal": i}
            for t, k, a, s, i in events])

    r1 = _timeline()
    await request("R-1", "contact", "resolved", r1.created_at,
                  [(e.at, e.kind, e.author, e.status, e.internal) for e in r1.events], resolved_at=r1.resolved_at,
                  session_hash="B")
    await request("C-2", "complaint", "in_progress", at(2, 10), [
        (at(2, 10), "status", "customer", "received", False), (at(2, 19), "reply", "staff", None, False),
        (at(2, 19), "status", "staff", "in_progress", False), (at(3, 10), "reply", "customer", None, False),
    ], due_at=at(5, 10))
    await request("C-3", "complaint", "closed", at(3, 8), [
        (at(3, 8), "status", "customer", "received", False), (at(3, 20), "status", "staff", "closed", False),
    ], resolved_at=at(3, 20), closed_at=at(3, 20), due_at=at(11, 8))
    await request("C-4", "complaint", "acknowledged", at(20, 9, month=10), [
        (at(20, 9, month=10), "status", "customer", "received", False)], due_at=datetime(2026, 10, 28, tzinfo=UTC))


async def _filled(store: Store) -> Store:
    async with store.write() as conn:
        await _fill(conn)
    return store


EXPECTED_TABLES: dict[str, list[tuple[Any, ...]]] = {
    # reset password: 4 searches, results 5+5+5+3 = 18 → 4.5, clicks 3/4 = 75 %;
    # invoice copy: 3, (2+2+4)/3 = 2.67, 1/3 = 33.3 %; refund: 3, 0 results, 0 %. Ties: by query.
    "top-searches": [("reset password", 4, 4.5, 75.0), ("invoice copy", 3, 2.7, 33.3), ("refund", 3, 0.0, 0.0)],
    "zero-results": [("refund", 3, 100.0)],
    # no click = searches − zero-result − clicked: invoice copy 3 − 0 − 1 = 2 (66.7 %); reset password 4 − 0 − 3 = 1
    "no-click": [("invoice copy", 3, 2, 66.7), ("reset password", 4, 1, 25.0)],
    # 10 searches − 3 with no results = 7 that found something; rank 1: 2/7 = 28.6 %, ranks 2 and 3: 1/7 = 14.3 %
    "rank-ctr": [(1, 2, 28.6), (2, 1, 14.3), (3, 1, 14.3)] + [(r, 0, 0.0) for r in range(4, 11)],
    "searches-by-day": [("2026-11-01", 5, 2, 2), ("2026-11-02", 4, 1, 1), ("2026-11-03", 1, 0, 1)],
    # refunds: 2 of 5 helpful = 40 %, Wilson 11.8 %; reset-password: 8 of 10 = 80 %, Wilson 49.0 % → refunds first
    "helpfulness": [("article:refunds", "", 2, 3, 40.0, 11.8, "wrong (2)"),
                    ("article:reset-password", "", 8, 2, 80.0, 49.0, None)],
    "comments": [("article:refunds", "not helpful", "wrong", "Prices changed", "2026-11-03T10:00+00:00"),
                 ("article:refunds", "not helpful", "unclear", None, "2026-11-02T12:00+00:00"),
                 ("article:refunds", "not helpful", "wrong", None, "2026-11-02T12:00+00:00")],
    "csat": [(1, 1, 20.0), (2, 0, 0.0), (3, 1, 20.0), (4, 1, 20.0), (5, 2, 40.0)],
    # sessions (visitor, day): A·1 opened, no request; B·1 sent R-1; B·2 opened, no request; C·3 no request
    # → 4 sessions, 2 opened, 1 sent anyway, 3 deflected = 75 %
    "deflection": [("Shown suggested articles", 4, 100.0), ("Opened a suggested article", 2, 50.0),
                   ("Sent a request anyway", 1, 25.0), ("Deflected (sent no request)", 3, 75.0)],
    # first response: R-1 2 h, C-2 10:00 → 19:00 = 9 h (C-3 never got a reply) → median 5.5, mean 5.5
    # each reply: R-1 2 h and 4 h, C-2 9 h (its customer's 3 Nov message is still unanswered) → median 4, mean 5
    # handle: R-1 6 h, C-3 received 08:00 → closed 20:00 = 12 h → 9 and 9
    # resolution: R-1 28 h, C-3 12 h → 20 and 20
    "request-times": [("First response", 2, 5.5, 5.5), ("Response (each reply)", 3, 4.0, 5.0),
                      ("Handle time", 2, 9.0, 9.0), ("Resolution", 2, 20.0, 20.0)],
    "complaints": [("in_progress", 1), ("closed", 1)],
    # overdue now (10 Nov 12:00), whenever sent: C-4 due 28 Oct 00:00 → 13.5 days; C-2 due 5 Nov 10:00 → 5.1 days
    "overdue": [("C-4", "About C-4", "acknowledged", "2026-10-28T00:00+00:00", 13.5),
                ("C-2", "About C-2", "in_progress", "2026-11-05T10:00+00:00", 5.1)],
}


@pytest.mark.anyio
async def test_every_figure_on_the_fixed_data_set(store: Store) -> None:
    board = await build_dashboard(await _filled(store), PERIOD, NOW)
    for key, rows in EXPECTED_TABLES.items():
        assert board.tables[key].rows == rows, key
    nps_rows = board.tables["nps"].rows
    assert nps_rows[0] == (0, "detractor", 1) and nps_rows[7] == (7, "passive", 1) and nps_rows[10] == (10, "promoter", 3)
    f = board.figures
    # 3 of 10 searches found nothing, 4 of 10 were clicked; 10 of 15 votes helpful = 66.7 %
    assert (f["searches"], f["zero_result_rate"], f["click_through"]) == (10, 30.0, 40.0)
    assert (f["votes"], f["helpful_rate"]) == (15, 66.7)
    assert (f["csat_average"], f["csat_satisfied"], f["nps"], f["deflection"]) == (3.6, 60.0, 30.0, 75.0)
    assert (f["requests"], f["first_response_median"], f["resolution_median"], f["overdue"]) == (3, 5.5, 20.0, 2)


@pytest.mark.anyio
async def test_an_empty_period_is_no_data_not_zero(store: Store) -> None:
    board = await build_dashboard(await _filled(store), Period(date(2025, 1, 1), date(2025, 1, 7)), NOW)
    f = board.figures
    assert f["searches"] == 0 and f["votes"] == 0 and f["requests"] == 0
    for key in ("zero_result_rate", "click_through", "helpful_rate", "csat_average", "csat_satisfied", "nps",
                "deflection", "first_response_median", "resolution_median"):
        assert f[key] is None, key
    for key in ("top-searches", "zero-results", "no-click", "rank-ctr", "helpfulness", "comments", "csat", "nps",
                "deflection", "request-times", "complaints"):
        assert board.tables[key].rows == [], key
    assert len(board.tables["searches-by-day"].rows) == 7 and f["overdue"] == 2  # overdue is about now


@pytest.mark.anyio
async def test_rollups_count_exactly_what_the_raw_rows_count(store: Store) -> None:
    await _filled(store)
    spans = [(date(2026, 11, 1), date(2026, 11, 4)), (date(2026, 10, 1), date(2026, 11, 4)),
             (date(2026, 10, 31), date(2026, 11, 2)), (date(2026, 10, 1), date(2026, 11, 11))]
    async with store.read() as conn:
        raw = [await search_stats(conn, a, b) for a, b in spans]
    assert all(s.from_rollups == 0 for s in raw)
    # Finished days: 1 Oct (the oldest search) .. 9 Nov (10 Nov is today) = 31 + 9 = 40; October is a month.
    assert await summarise(store, NOW) == 40
    assert await summarise(store, NOW) == 0, "nothing new: nothing written"
    async with store.read() as conn:
        rolled = [await search_stats(conn, a, b) for a, b in spans]
        months = (await conn.execute(select(tables.insights_search_totals.c.start).where(
            tables.insights_search_totals.c.span == "m"))).scalars().all()
    assert [m if isinstance(m, date) else date.fromisoformat(m) for m in months] == [date(2026, 10, 1)]
    for before, after in zip(raw, rolled, strict=True):
        assert (before.top, before.zero, before.no_click) == (after.top, after.zero, after.no_click)
        assert (before.days, before.rank_clicks) == (after.days, after.rank_clicks)
    assert [s.from_rollups for s in rolled] == [3, 34, 2, 40]  # 11-11 and 11-10 are not finished
    october = next(q for q in rolled[1].top if q.query == "reset password")
    assert (october.searches, october.clicks) == (6, 3)  # 4 in November + 31 Oct + 1 Oct
    # Retention: summaries older than the kept days go too (10 Nov − 20 days = 21 Oct).
    await summarise(store, NOW, keep_days=20)
    async with store.read() as conn:
        oldest = (await conn.execute(select(func.min(tables.insights_search_totals.c.start)))).scalar_one()
    assert str(oldest)[:10] == "2026-10-21"


# -- the staff pages ------------------------------------------------------------------------------


@pytest.fixture
def staff_client(tmp_path: Path, db_settings: dict[str, Any]) -> Iterator[tuple[Portal, TestClient]]:  # noqa: F811
    portal = portal_for(tmp_path, db_settings, clock=lambda: NOW,
                        is_staff=lambda request: request.headers.get("x-staff") == "yes")
    with TestClient(portal) as client:
        yield portal, client


def _fill_portal(portal: Portal, client: TestClient, *extra: tuple[datetime, str, int]) -> None:
    async def run() -> None:
        store = await portal.desk.store()
        async with store.write() as conn:
            await _fill(conn)
            if extra:
                await conn.execute(insert(tables.search_events), [
                    {"created_at": t, "query_norm": q, "locale": "en", "result_count": n, "zero_results": n == 0}
                    for t, q, n in extra])

    client.portal.call(run)  # type: ignore[union-attr]


QUERY = "?from=2026-11-01&to=2026-11-03"


def test_the_staff_area_is_closed_without_access(staff_client: tuple[Portal, TestClient], tmp_path: Path) -> None:
    _, client = staff_client
    for path in ("/staff/insights", "/staff/insights/top-searches.csv", "/staff/insights/new-article?q=refund"):
        denied = client.get(path)
        assert denied.status_code == 403 and "reset password" not in denied.text, path
        assert client.get(path, headers={"x-staff": "no"}).status_code == 403
    closed = portal_for(tmp_path / "closed", {})  # no Settings.is_staff: nobody
    with TestClient(closed) as other:
        assert other.get("/staff/insights", headers=STAFF).status_code == 403


def test_the_dashboard_shows_every_figure_with_its_definition(staff_client: tuple[Portal, TestClient]) -> None:
    portal, client = staff_client
    _fill_portal(portal, client)
    page = client.get(f"/staff/insights{QUERY}", headers=STAFF)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store" and "noindex" in page.headers["x-robots-tag"]
    html = page.text
    assert "2026-11-01 to 2026-11-03 (UTC), 3 days" in html
    for figure in ("30.0 %", "40.0 %", "66.7 %", "3.6", "60.0 %", "75.0 %", "5.5", "20.0"):
        assert figure in html, figure
    assert "Of the sessions shown articles while typing a contact or complaint subject" in html
    assert "NPS = 100 × (promoters − detractors) ÷ answers" in html
    assert html.count("<h1") == 1 and "<h3" not in html  # h1 → h2 only
    assert html.count("<caption>") == html.count("<table")
    for chart in ("searches-by-day", "rank-ctr", "csat", "nps", "complaints"):
        assert f'<title id="chart-{chart}-title">' in html and f'<desc id="chart-{chart}-desc">' in html, chart
        assert f'aria-labelledby="chart-{chart}-title chart-{chart}-desc"' in html
    assert "<script" not in html, "no script needed"
    assert 'href="/staff/insights/new-article?q=invoice+copy"' in html
    assert 'href="/staff/insights/rank-ctr.csv?from=2026-11-01&amp;to=2026-11-03"' in html
    assert 'aria-current="page">Insights' in html


def test_an_empty_period_says_no_data(staff_client: tuple[Portal, TestClient]) -> None:
    _, client = staff_client
    page = client.get("/staff/insights?days=7", headers=STAFF)  # an empty store
    assert page.status_code == 200
    assert "2026-11-04 to 2026-11-10" in page.text and page.text.count("No data for this period.") >= 10
    assert 'role="img"' not in page.text, "no chart without data"
    # every key figure that is a rate or an average; the two counts (searches, overdue now) are 0
    assert page.text.count(">No data<") == 9


def test_csv_downloads_match_the_dashboard(staff_client: tuple[Portal, TestClient]) -> None:
    portal, client = staff_client
    _fill_portal(portal, client, (at(2, 15), "=HYPERLINK(\"http://evil.example\")", 0), (at(2, 16), "@sum", 0))
    for key, rows in EXPECTED_TABLES.items():
        response = client.get(f"/staff/insights/{key}.csv{QUERY}", headers=STAFF)
        assert response.status_code == 200, key
        assert response.headers["content-type"].startswith("text/csv")
        assert f'filename="insights-{key}-2026-11-01-2026-11-03.csv"' in response.headers["content-disposition"]
        parsed = list(csv.reader(io.StringIO(response.text)))
        if key in ("zero-results", "top-searches", "rank-ctr", "searches-by-day"):
            continue  # the two extra searches change these; checked below
        if key == "helpfulness":  # the portal knows the demo articles' titles
            titles = {slug: doc.title for slug, doc in portal.ss.library.articles.items()}
            rows = [(r[0], titles.get(str(r[0]).split(":")[1], ""), *r[2:]) for r in rows]
            assert rows[0][1] == titles["refunds"] != ""
        assert parsed[1:] == [["" if v is None else str(v) for v in row] for row in rows], key
    zero = list(csv.reader(io.StringIO(client.get(f"/staff/insights/zero-results.csv{QUERY}", headers=STAFF).text)))
    assert zero[0] == ["Query", "Searches with no results", "Share of its searches %"]
    assert zero[1:] == [["refund", "3", "100.0"], ["'=HYPERLINK(\"http://evil.example\")", "1", "100.0"],
                        ["'@sum", "1", "100.0"]]
    assert client.get(f"/staff/insights/no-such-table.csv{QUERY}", headers=STAFF).status_code == 404
    assert client.get(f"/staff/insights/searches.csv{QUERY}", headers=STAFF).status_code == 404


BAD_PERIODS = ["?from=2026-13-01&to=2026-11-03", "?from=2026-11-01", "?to=2026-11-03", "?from=2026-11-05&to=2026-11-01",
               "?from=2000-01-01&to=2026-01-01", "?days=5", "?days=abc", "?from=yesterday&to=today",
               "?from=9999-12-30&to=9999-12-31", "?from=0001-01-01&to=0001-01-02"]


def test_a_bad_period_is_a_400_that_says_why(staff_client: tuple[Portal, TestClient]) -> None:
    _, client = staff_client
    for query in BAD_PERIODS:
        for path in ("/staff/insights", "/staff/insights/top-searches.csv"):
            response = client.get(path + query, headers=STAFF)
            assert response.status_code == 400, (path, query)
            assert re.search(r"both dates|YYYY-MM-DD|ends before|at most 3660|days must be|dates from 1970-01-01", response.text)


def test_write_an_article_downloads_a_draft(staff_client: tuple[Portal, TestClient]) -> None:
    _, client = staff_client
    draft = client.get("/staff/insights/new-article", params={"q": "  invoice   copy "}, headers=STAFF)
    assert draft.status_code == 200 and draft.headers["content-type"].startswith("text/markdown")
    assert draft.headers["content-disposition"] == 'attachment; filename="invoice-copy.md"'
    assert draft.text == article_draft("Invoice copy", keywords=["invoice copy"], today=date(2026, 11, 10))
    for bad in ("", "!!!", "x" * 201):
        assert client.get("/staff/insights/new-article", params={"q": bad}, headers=STAFF).status_code == 400


def test_links_keep_the_hosts_mount_prefix(tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    portal = portal_for(tmp_path, {}, clock=lambda: NOW, is_staff=lambda request: True)
    with TestClient(Starlette(routes=[Mount("/help", app=portal)])) as client:
        html = client.get("/help/staff/insights?days=7").text
    assert 'href="/help/staff/insights/top-searches.csv?from=2026-11-04&amp;to=2026-11-10"' in html
    assert 'href="/help/staff/insights?days=90"' in html and 'href="/help/"' in html
    assert "/staff/staff" not in html and 'href="/staff' not in html


def test_the_dashboard_has_no_serious_axe_violations(tmp_path: Path) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="needs axe-playwright-python (test extra)")
    import asyncio

    from starlette.applications import Starlette
    from starlette.routing import Mount

    from selfservice.store import open_store, upgrade
    from tests.live import launch_chromium, listening_socket, serving

    url = f"sqlite+aiosqlite:///{tmp_path / 'insights.sqlite3'}"

    async def prepare() -> None:
        await upgrade(url)
        store = await open_store(url)
        await _filled(store)
        await store.close()

    asyncio.run(prepare())
    portal = portal_for(tmp_path, {"database_url": url}, clock=lambda: NOW, is_staff=lambda request: True)
    sock = listening_socket()
    failures: list[str] = []
    try:
        with serving(Starlette(routes=[Mount("/help", app=portal)]), [sock]), launch_chromium() as browser:
            for scheme, width in (("light", 1280), ("dark", 390)):
                context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{sock.getsockname()[1]}/help/staff/insights{QUERY}")
                assert page.locator("svg[role=img]").count() == 5
                for v in axe_module.Axe().run(page).response["violations"]:
                    if v["impact"] in {"serious", "critical"}:
                        failures.append(f"{scheme}: {v['id']} {v['help']} at {[n['target'] for n in v['nodes']][:3]}")
                context.close()
    finally:
        sock.close()
    assert not failures, "\n".join(failures)


def test_a_request_from_the_form_is_linked_to_the_suggestions_its_sender_saw(
        tmp_path: Path, db_settings: dict[str, Any]) -> None:  # noqa: F811
    from tests.test_requests import submit

    portal = portal_for(tmp_path, db_settings, is_staff=lambda request: True)  # the system clock, as the forms use
    with TestClient(portal) as client:
        shown = client.get("/api/suggest", params={"form": "contact", "q": "reset your password"})
        assert shown.status_code == 200 and shown.json()["suggestions"]
        assert submit(client).status_code == 303

        async def hashes() -> tuple[list[str | None], list[str | None]]:
            store = await portal.desk.store()
            async with store.read() as conn:
                return (list((await conn.execute(select(tables.deflections.c.session_hash))).scalars()),
                        list((await conn.execute(select(tables.requests.c.session_hash))).scalars()))

        shown_hashes, sent_hashes = client.portal.call(hashes)  # type: ignore[union-attr]
        assert shown_hashes == sent_hashes == [portal.desk.hash("ip:testclient")]
        # one session, shown articles, and it wrote to us anyway: deflection 0 %
        rows = list(csv.reader(io.StringIO(client.get("/staff/insights/deflection.csv?days=7").text)))
    assert rows[1:] == [["Shown suggested articles", "1", "100.0"], ["Opened a suggested article", "0", "0.0"],
                        ["Sent a request anyway", "1", "100.0"], ["Deflected (sent no request)", "0", "0.0"]]
    from selfservice.store.feedback import EXPORTS

    assert "session_hash" in EXPORTS["requests"][1], "exports leave the hash out, as for suggestion lists"
