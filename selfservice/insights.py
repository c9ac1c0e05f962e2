"""The staff insights dashboard: what each figure means, how it is computed, and the dashboard.

Every figure is a :class:`Metric` with a one-sentence definition and its formula, both shown
on the page (and in docs/insights.md), so a number is never read without knowing what it
counts. The counting is SQL in :mod:`selfservice.store.insights` (votes, surveys, deflection,
requests) and :mod:`selfservice.store.search_rollups` (searches); the arithmetic is here, in
small pure functions the tests check against hand-computed values.

Business rules that hold everywhere:

* A period is a range of whole UTC days, ``[first, last]``; timestamps are compared as
  ``start <= t < end`` with ``end`` the midnight after ``last``.
* A figure with nothing to count is ``None`` ("no data"), never 0 and never a division
  error: 0 % helpful and "nobody voted" are different news.
* Requests are counted by the period they were *sent* in; their response and resolution
  times may end after it. Overdue complaints are the ones overdue *now*, whenever sent.
"""

from __future__ import annotations

import heapq
import logging
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from .errors import StoreError

if TYPE_CHECKING:
    from .store.engine import Store
    from .store.insights import PageVotes, RequestFacts
    from .store.search_rollups import QueryCount, SearchStats

__all__ = [
    "METRICS",
    "Csat",
    "Dashboard",
    "DataTable",
    "Metric",
    "Nps",
    "Period",
    "build_dashboard",
    "csat",
    "first_response",
    "handle_time",
    "hours",
    "mean",
    "median",
    "nps",
    "percent",
    "resolution_time",
    "response_waits",
    "wilson_lower_bound",
    "worst_pages",
]

log = logging.getLogger("selfservice")

TOP = 20  # rows in each "top" table
RANKS = 10  # click-through is shown for result ranks 1..RANKS
Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    title: str
    definition: str
    formula: str


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("searches", "Searches",
           "Searches made in the search box, and how many found nothing or led to an opened result.",
           "searches = rows in search_events; zero-result rate = searches with 0 results ÷ searches; "
           "click-through = searches followed by a click ÷ searches"),
    Metric("top-searches", "Top searches",
           "The queries searched most often (lower case, spacing folded), with how many results they found "
           "and how often the customer opened one.",
           "per query: searches; average results = Σ result count ÷ searches; click-through = searches with a "
           "click ÷ searches"),
    Metric("zero-results", "Searches with no results",
           "Queries for which we have no article at all: the clearest gaps in the content.",
           "per query: searches that found 0 results"),
    Metric("no-click", "Searches with no click",
           "Queries that found articles, but the customer opened none of them: the results did not look like "
           "the answer. Each row can start a new article.",
           "per query: searches with at least 1 result and no click; no-click rate = those ÷ searches"),
    Metric("rank-ctr", "Click-through by rank",
           "For each position in the results, the share of searches (that found something) whose customer "
           "opened the result at that position.",
           "click-through at rank r = searches whose click was on rank r ÷ searches with at least 1 result"),
    Metric("helpfulness", "Article helpfulness",
           "Pages readers rated, worst first. Pages are ranked by the lower bound of the 95 % Wilson interval "
           "of their helpful share, so a page with two votes is not judged on luck.",
           "helpful % = helpful ÷ (helpful + not helpful); Wilson lower bound = (p + z²/2n − z·√(p(1−p)/n + "
           "z²/4n²)) ÷ (1 + z²/n) with z = 1.96; a vote counts in the period it was last given or changed"),
    Metric("comments", "Recent reasons and comments",
           "What readers of the worst-rated pages said, newest first.",
           "the 3 newest votes with a reason or comment per page, for the pages in the helpfulness table"),
    Metric("csat", "Customer satisfaction (CSAT)",
           "Answers to \"How satisfied are you?\" on a scale of 1 to 5: the average, and the share of satisfied "
           "customers (4 or 5).",
           "average = Σ score ÷ answers; satisfied % = answers of 4 or 5 ÷ answers"),
    Metric("nps", "Net Promoter Score (NPS)",
           "How likely customers are to recommend us (0–10): promoters (9–10) minus detractors (0–6), "
           "from −100 to +100.",
           "NPS = 100 × (promoters − detractors) ÷ answers; passives (7–8) count only in the answers"),
    Metric("deflection", "Deflection",
           "Of the sessions shown articles while typing a contact or complaint subject, the share that then "
           "sent no request. A session is one visitor (a keyed hash of their IP address, never the address) "
           "on one UTC day. Search-box searches are not linked to visitors, so they are not counted here.",
           "deflection = sessions shown suggestions that sent no request that day ÷ sessions shown suggestions"),
    Metric("request-times", "Response and resolution times",
           "How long customers waited, for contact requests and complaints sent in the period "
           "(in hours; internal notes are not replies).",
           "first response = first staff reply − sent; response = each staff reply − the oldest customer message "
           "it answers; handle = time open and not waiting for the customer, until resolved; resolution = "
           "resolved − sent (the latest resolution if reopened); median and mean of each"),
    Metric("complaints", "Complaints by status",
           "Complaints sent in the period, by where they stand now.",
           "per status: complaints sent in the period"),
    Metric("overdue", "Overdue complaints",
           "Open complaints past their target response date now, whenever they were sent; most overdue first.",
           "open complaints with due date < now"),
    Metric("searches-by-day", "Searches per day",
           "Searches, searches with no results and clicks for each UTC day of the period.",
           "per day: searches; zero-result searches; searches followed by a click"),
)}


# -- formulas -----------------------------------------------------------------------------------


def percent(part: float, whole: float) -> float | None:
    """``part`` as a percentage of ``whole``, to one decimal; ``None`` when ``whole`` is 0."""
    return round(100.0 * part / whole, 1) if whole else None


def wilson_lower_bound(positive: int, total: int, z: float = 1.96) -> float | None:
    """The lower bound of the Wilson score interval of ``positive / total`` (``None`` for no votes)."""
    if total <= 0:
        return None
    p = positive / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - spread) / (1 + z * z / total)


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class Csat:
    answers: int
    average: float
    satisfied_percent: float
    distribution: dict[int, int]  # 1..5 → answers


def csat(scores: Mapping[int, int]) -> Csat | None:
    """CSAT from a score → answers map (1–5); ``None`` without answers."""
    distribution = {s: int(scores.get(s, 0)) for s in range(1, 6)}
    answers = sum(distribution.values())
    if not answers:
        return None
    total = sum(s * n for s, n in distribution.items())
    satisfied = distribution[4] + distribution[5]
    return Csat(answers, round(total / answers, 2), round(100.0 * satisfied / answers, 1), distribution)


@dataclass(frozen=True, slots=True)
class Nps:
    answers: int
    promoters: int
    passives: int
    detractors: int
    score: float  # −100..100
    distribution: dict[int, int]  # 0..10 → answers


def nps(scores: Mapping[int, int]) -> Nps | None:
    """NPS from a score → answers map (0–10); ``None`` without answers."""
    distribution = {s: int(scores.get(s, 0)) for s in range(11)}
    answers = sum(distribution.values())
    if not answers:
        return None
    promoters = distribution[9] + distribution[10]
    detractors = sum(distribution[s] for s in range(7))
    return Nps(answers, promoters, answers - promoters - detractors, detractors,
               round(100.0 * (promoters - detractors) / answers, 1), distribution)


def _public(request: RequestFacts) -> list[tuple[datetime, str, str, str | None]]:
    return [(e.at, e.kind, e.author, e.status) for e in request.events if not e.internal]


def first_response(request: RequestFacts) -> timedelta | None:
    """Sent → the first reply staff sent the customer; ``None`` while unanswered."""
    for at, kind, author, _ in _public(request):
        if kind == "reply" and author == "staff":
            return at - request.created_at
    return None


def response_waits(request: RequestFacts) -> list[timedelta]:
    """For each staff reply, the time since the oldest customer message it answers.

    The request itself is the first customer message; a staff reply with no customer message
    waiting (a second reply in a row) answers nothing new and is not counted."""
    waits: list[timedelta] = []
    waiting_since: datetime | None = request.created_at
    for at, kind, author, _ in _public(request):
        if kind != "reply":
            continue
        if author == "customer" and waiting_since is None:
            waiting_since = at
        elif author == "staff" and waiting_since is not None:
            waits.append(at - waiting_since)
            waiting_since = None
    return waits


def resolution_time(request: RequestFacts) -> timedelta | None:
    """Sent → resolved (the latest resolution, if it was reopened); ``None`` while open."""
    return request.resolved_at - request.created_at if request.resolved_at is not None else None


def handle_time(request: RequestFacts) -> timedelta | None:
    """The time until resolution that the request was open and *not* waiting for the customer.

    Walks the status timeline: time in ``waiting_for_customer`` is the customer's, and time
    in ``resolved``/``closed`` before a reopen is nobody's. ``None`` while unresolved."""
    if request.resolved_at is None:
        return None
    ours = {"received", "acknowledged", "in_progress"}
    total = timedelta(0)
    status, since = "received", request.created_at
    for at, kind, _, new in _public(request):
        if kind != "status" or new is None:
            continue
        at = min(at, request.resolved_at)
        if status in ours:
            total += max(at - since, timedelta(0))
        status, since = new, at
    if status in ours and request.resolved_at > since:
        total += request.resolved_at - since
    return total


# -- the period and the dashboard ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days ``first``..``last`` (both included)."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        after = self.last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @classmethod
    def last_days(cls, days: int, today: date) -> Period:
        return cls(today - timedelta(days=days - 1), today)


@dataclass
class DataTable:
    """One table of the dashboard, as shown and as its CSV download (same rows)."""

    key: str
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]

    @property
    def metric(self) -> Metric:
        return METRICS[self.key]


@dataclass
class Dashboard:
    period: Period
    now: datetime
    tables: dict[str, DataTable] = field(default_factory=dict)
    figures: dict[str, Cell] = field(default_factory=dict)  # headline numbers; None = no data
    csat: Csat | None = None
    nps: Nps | None = None
    searched_days_from_rollups: int = 0

    def add(self, key: str, caption: str, headers: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> None:
        self.tables[key] = DataTable(key, caption, headers, rows)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _no_click(q: QueryCount) -> int:
    return max(q.searches - q.zero_results - q.clicks, 0)


def _searches(board: Dashboard, stats: SearchStats) -> None:
    f = board.figures
    f["searches"] = stats.searches
    f["zero_result_rate"] = percent(stats.zero_results, stats.searches)
    f["click_through"] = percent(stats.clicks, stats.searches)
    board.add("top-searches", "Top searches", ("Query", "Searches", "Average results", "Click-through %"),
              [(q.query, q.searches, _round(q.results / q.searches), percent(q.clicks, q.searches)) for q in stats.top])
    board.add("zero-results", "Searches with no results", ("Query", "Searches with no results", "Share of its searches %"),
              [(q.query, q.zero_results, percent(q.zero_results, q.searches)) for q in stats.zero])
    board.add("no-click", "Searches with results but no click",
              ("Query", "Searches", "Searches with no click", "No-click rate %"),
              [(q.query, q.searches, _no_click(q), percent(_no_click(q), q.searches)) for q in stats.no_click])
    found = stats.searches - stats.zero_results
    board.add("rank-ctr", "Click-through by result rank", ("Rank", "Clicks", "Click-through %"),
              [(rank, stats.rank_clicks.get(rank, 0), percent(stats.rank_clicks.get(rank, 0), found))
               for rank in range(1, RANKS + 1)] if found else [])
    board.add("searches-by-day", "Searches per day", ("Day", "Searches", "No results", "Clicks"),
              [(d.day.isoformat(), d.searches, d.zero_results, d.clicks) for d in stats.days])
    board.searched_days_from_rollups = stats.from_rollups


def _helpful_score(p: PageVotes) -> float:
    return wilson_lower_bound(p.helpful, p.helpful + p.not_helpful) or 0.0


def worst_pages(pages: Sequence[PageVotes], n: int = TOP) -> list[PageVotes]:
    """The ``n`` pages with the lowest Wilson lower bound; ties: more votes first, then slug."""
    return heapq.nsmallest(n, pages, key=lambda p: (_helpful_score(p), -(p.helpful + p.not_helpful), p.page_slug))


def _helpfulness(board: Dashboard, pages: list[PageVotes], worst: list[PageVotes], titles: Mapping[str, str],
                 reasons: Mapping[tuple[str, str], Mapping[str, int]]) -> None:
    votes = sum(p.helpful + p.not_helpful for p in pages)
    board.figures["votes"] = votes
    board.figures["helpful_rate"] = percent(sum(p.helpful for p in pages), votes)
    board.add("helpfulness", "Article helpfulness, worst first",
              ("Page", "Title", "Helpful", "Not helpful", "Helpful %", "Wilson lower bound %", "Top reason (not helpful)"),
              [(f"{p.page_kind}:{p.page_slug}", titles.get(p.page_slug, ""), p.helpful, p.not_helpful,
                percent(p.helpful, p.helpful + p.not_helpful), _round(100 * _helpful_score(p)),
                _top_reason(reasons.get((p.page_kind, p.page_slug), {}))) for p in worst])


def _requests(board: Dashboard, facts: list[RequestFacts], overdue: list[RequestFacts], deflection: tuple[
        Mapping[tuple[str, date], bool], set[tuple[str, date]]], statuses: Sequence[str]) -> None:
    rows: list[tuple[Cell, ...]] = []
    for label, values in (
        ("First response", [hours(t) for r in facts if (t := first_response(r)) is not None]),
        ("Response (each reply)", [hours(t) for r in facts for t in response_waits(r)]),
        ("Handle time", [hours(t) for r in facts if (t := handle_time(r)) is not None]),
        ("Resolution", [hours(t) for r in facts if (t := resolution_time(r)) is not None]),
    ):
        rows.append((label, len(values), _round(median(values)), _round(mean(values))))
    board.figures["requests"] = len(facts)
    board.figures["first_response_median"] = rows[0][2]
    board.figures["resolution_median"] = rows[3][2]
    board.add("request-times", "Response and resolution times (hours)", ("Measure", "Counted", "Median", "Mean"),
              rows if facts else [])
    complaints = [r for r in facts if r.kind == "complaint"]
    board.add("complaints", "Complaints by status", ("Status", "Complaints"),
              [(s, n) for s in statuses if (n := sum(1 for r in complaints if r.status == s))])
    board.add("overdue", "Overdue complaints", ("Reference", "Subject", "Status", "Due", "Days overdue"),
              [(r.reference, r.subject, r.status, r.due_at.isoformat(timespec="minutes") if r.due_at else None,
                _round((board.now - r.due_at).total_seconds() / 86400) if r.due_at else None) for r in overdue])
    board.figures["overdue"] = len(overdue)
    shown, sent = deflection
    opened = sum(1 for o in shown.values() if o)
    deflected = sum(1 for s in shown if s not in sent)
    board.figures["deflection"] = percent(deflected, len(shown))
    board.add("deflection", "Deflection at the contact and complaint forms", ("Measure", "Sessions", "Share %"), [
        ("Shown suggested articles", len(shown), None if not shown else 100.0),
        ("Opened a suggested article", opened, percent(opened, len(shown))),
        ("Sent a request anyway", len(shown) - deflected, percent(len(shown) - deflected, len(shown))),
        ("Deflected (sent no request)", deflected, percent(deflected, len(shown))),
    ] if shown else [])


async def build_dashboard(store: Store, period: Period, now: datetime, *, titles: Mapping[str, str] | None = None,
                          keep_days: int | None = None) -> Dashboard:
    """Summarise finished days (a write, only when there is something new), then read
    every figure of ``period`` in one snapshot. ``titles`` maps page slugs to titles."""
    from .store import insights as q
    from .store import search_rollups as rollups
    from .store.cases import OPEN_STATUSES, STATUSES

    try:
        await rollups.summarise(store, now, keep_days=keep_days)
    except StoreError as exc:  # the figures are still right, read from the raw rows: just slower
        log.warning("insights: could not summarise search events, reading them raw: %s", exc)
    board = Dashboard(period, now)
    start, end = period.start, period.end
    async with store.read() as conn:
        stats = await rollups.search_stats(conn, period.first, period.last + timedelta(days=1), top=TOP)
        pages = await q.page_votes(conn, start, end)
        scores = await q.survey_scores(conn, start, end)
        facts = await q.request_facts(conn, start, end)
        overdue = await q.open_complaints_overdue(conn, now, OPEN_STATUSES)
        shown_sent = await q.deflection_sessions(conn, start, end)
        worst = worst_pages(pages)
        notes, reasons = await q.vote_notes(conn, start, end, [(p.page_kind, p.page_slug) for p in worst])
    _searches(board, stats)
    _helpfulness(board, pages, worst, titles or {}, reasons)
    board.add("comments", "Reasons and comments on the worst-rated pages", ("Page", "Answer", "Reason", "Comment", "When"),
              [(f"{kind}:{slug}", "helpful" if n.helpful else "not helpful", n.reason, n.comment,
                n.at.isoformat(timespec="minutes")) for (kind, slug), found in notes.items() for n in found])
    board.csat, board.nps = csat(scores.get("csat", {})), nps(scores.get("nps", {}))
    c, n = board.csat, board.nps
    board.figures.update(csat_average=c.average if c else None, csat_satisfied=c.satisfied_percent if c else None,
                         nps=n.score if n else None)
    board.add("csat", "CSAT answers by score", ("Score", "Answers", "Share %"),
              [(s, k, percent(k, c.answers)) for s, k in c.distribution.items()] if c else [])
    board.add("nps", "NPS answers by score", ("Score", "Group", "Answers"),
              [(s, "promoter" if s >= 9 else "passive" if s >= 7 else "detractor", k)
               for s, k in n.distribution.items()] if n else [])
    _requests(board, facts, overdue, shown_sent, STATUSES)
    return board


def _top_reason(counts: Mapping[str, int]) -> str | None:
    if not counts:
        return None
    reason, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{reason} ({n})"
