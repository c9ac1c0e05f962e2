"""The staff insights dashboard over a million feedback and search rows, on SQLite.

Fills the portal's embedded SQLite store with ``--rows`` rows spread over the last year —
70 % search events (queries drawn from a long-tailed vocabulary of 20,000, a third of them
clicked), 25 % "Was this helpful?" votes on 300 pages, 5 % CSAT/NPS answers — plus 2,000
requests with timelines and 5,000 suggestion lists (not counted in ``--rows``). Rows go in with
``executemany`` in batches of 50,000 through SQLAlchemy, as the app would store them.

Then it times ``GET /staff/insights`` through the whole app (Starlette's TestClient: routing,
the staff check, every query, the template, the SVG charts) for the last 30 days and the last
365 days: the first request (which also summarises every finished day of search events into
the rollup tables, once) and then ``--repeats`` more, reporting the median and the maximum.
Baseline in the same run: the 365-day search figures read from the raw rows, as without rollups.

    python benchmarks/insights_dashboard.py [--rows 1000000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from selfservice import Settings, create_portal  # noqa: E402
from selfservice.store import tables  # noqa: E402

BATCH = 50_000


def vocabulary(n: int, rng: random.Random) -> list[str]:
    words = ("reset password invoice refund card order delivery cancel account email change address return "
             "label tracking login app update plan billing charge payment failed missing parcel sign in two step "
             "code subscription upgrade delete data export receipt vat discount voucher gift late broken "
             "warranty repair stock size exchange").split()
    found: set[str] = set()
    while len(found) < n:
        found.add(" ".join(rng.sample(words, rng.randint(1, 4))))
    return sorted(found)


def fill(db_file: Path, rows: int, now: datetime, rng: random.Random) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{db_file}")
    n_search, n_votes = int(rows * 0.70), int(rows * 0.25)
    n_surveys = rows - n_search - n_votes
    year = 365 * 86400

    def when() -> datetime:
        return now - timedelta(seconds=rng.random() * year)

    def times(n: int) -> list[datetime]:
        """``n`` moments of the last year, oldest first: rows arrive in time order, as in production."""
        return sorted(when() for _ in range(n))

    queries = vocabulary(20_000, rng)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(queries))]
    cum = list(itertools.accumulate(weights))
    pages = [f"article-{i}" for i in range(300)]
    with engine.begin() as conn:
        conn.execute(text("PRAGMA synchronous = OFF"))
        search_times = times(n_search)
        for start in range(0, n_search, BATCH):
            batch = []
            for t, q in zip(search_times[start:start + BATCH], rng.choices(queries, cum_weights=cum, k=min(BATCH, n_search - start))):
                results = 0 if rng.random() < 0.12 else rng.randint(1, 40)
                rank = rng.choice((1, 1, 1, 2, 2, 3, 4, 5, 7, 10)) if results and rng.random() < 0.35 else None
                batch.append({"created_at": t, "query_norm": q, "locale": "en", "result_count": results,
                              "zero_results": results == 0, "clicked_slug": rng.choice(pages) if rank else None,
                              "clicked_rank": rank})
            conn.execute(insert(tables.search_events), batch)
        vote_times = times(n_votes)
        for start in range(0, n_votes, BATCH):
            batch = []
            for i in range(start, min(start + BATCH, n_votes)):
                at = vote_times[i]
                helpful = rng.random() < 0.7
                noted = rng.random() < 0.1
                batch.append({"created_at": at, "updated_at": at, "page_kind": "article", "page_slug": rng.choice(pages),
                              "visitor_hash": f"v{i:08d}", "helpful": helpful,
                              "reason": (rng.choice(("clear", "solved")) if helpful else rng.choice(("unclear", "wrong", "missing"))) if noted else None,
                              "comment": "Could say more about fees." if noted and not helpful else None})
            conn.execute(insert(tables.votes), batch)
        batch = []
        for at in times(n_surveys):
            kind = "csat" if rng.random() < 0.6 else "nps"
            batch.append({"created_at": at, "kind": kind, "score": rng.randint(1, 5) if kind == "csat" else rng.randint(0, 10),
                          "comment": None, "context": {}})
        conn.execute(insert(tables.surveys), batch)
        conn.execute(insert(tables.deflections), [
            {"created_at": when(), "form": "contact", "query_norm": rng.choice(queries), "suggested": ["article-1"],
             "clicked_slug": "article-1" if rng.random() < 0.4 else None, "session_hash": f"s{rng.randint(0, 3000)}"}
            for _ in range(5000)])
        statuses = ("received", "acknowledged", "in_progress", "waiting_for_customer", "resolved", "closed")
        for i in range(2000):
            created = when()
            status = rng.choice(statuses)
            done = created + timedelta(hours=rng.randint(1, 200)) if status in ("resolved", "closed") else None
            rid = conn.execute(insert(tables.requests).values(
                reference=f"R-{i:06d}", kind=rng.choice(("contact", "complaint")), status=status, topic="billing",
                subject="Charged twice", message="Please help.", email="a@example.com", locale="en", created_at=created,
                due_at=created + timedelta(days=8), resolved_at=done, session_hash=f"s{rng.randint(0, 3000)}",
            ).returning(tables.requests.c.id)).scalar_one()
            reply = created + timedelta(hours=rng.randint(1, 48))
            conn.execute(insert(tables.request_events), [
                {"request_id": rid, "created_at": created, "kind": "status", "author": "customer", "status": "received"},
                {"request_id": rid, "created_at": reply, "kind": "reply", "author": "staff", "status": None},
                *([{"request_id": rid, "created_at": done, "kind": "status", "author": "staff", "status": status}] if done else []),
            ])
    engine.dispose()
    return {"search_events": n_search, "votes": n_votes, "surveys": n_surveys}


def timed(client: TestClient, url: str) -> tuple[float, float]:
    """Wall-clock seconds of one GET, and the CPU seconds the whole process spent on it (the app,
    its SQLite thread and the test client): on a shared, busy machine the wall clock includes
    waiting for a CPU; the CPU time is what the request costs on an idle core."""
    started, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    assert response.status_code == 200, (response.status_code, response.text[:500])
    return elapsed, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(8)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        db_file = Path(tmp) / "selfservice.sqlite3"
        portal = create_portal(Settings(demo=True, secret_key="benchmark-secret-key-0123456789", data_dir=tmp,
                                        database_url=f"sqlite:///{db_file}", is_staff=lambda request: True,
                                        search_retention_days=None))
        with TestClient(portal) as client:
            client.portal.call(portal.desk.store)  # type: ignore[union-attr]  # migrates the file
            started = time.perf_counter()
            counts = fill(db_file, args.rows, now, rng)
            print(f"filled {sum(counts.values()):,} rows {counts} (+2,000 requests, 5,000 suggestion lists) "
                  f"in {time.perf_counter() - started:.1f} s")

            today = now.date()
            year = f"/staff/insights?from={(today - timedelta(days=364)).isoformat()}&to={today.isoformat()}"
            baseline = raw_search_seconds(portal, client, today)
            first, first_cpu = timed(client, year)
            print(f"first request, 365 days (summarises every finished day once): {first:.2f} s ({first_cpu:.2f} s CPU)")
            print(f"baseline: 365 days of search figures from the raw rows, no rollups: {baseline:.2f} s")
            print(f"{'GET /staff/insights':<22}{'median s':>9}{'max s':>8}{'median CPU s':>14}{'max CPU s':>11}"
                  f"   ({args.repeats} requests each; load average {os.getloadavg()[0]:.1f})")
            for label, url in (("last 30 days", "/staff/insights?days=30"), ("last 365 days", year)):
                timed(client, url)  # warm the template and the connection pool
                runs = [timed(client, url) for _ in range(args.repeats)]
                wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
                print(f"{label:<22}{statistics.median(wall):>9.3f}{max(wall):>8.3f}"
                      f"{statistics.median(cpu):>14.3f}{max(cpu):>11.3f}")
            csv_runs = [timed(client, year.replace("insights?", "insights/top-searches.csv?"))[0] for _ in range(3)]
            print(f"CSV top searches, 365 days: median {statistics.median(csv_runs):.3f} s")


def raw_search_seconds(portal: Any, client: TestClient, today: Any) -> float:
    """The 365-day search figures straight from ``search_events`` (before any rollup exists)."""
    from selfservice.store.search_rollups import search_stats

    async def run() -> float:
        store = await portal.desk.store()
        started = time.perf_counter()
        async with store.read() as conn:
            await search_stats(conn, today - timedelta(days=364), today + timedelta(days=1))
        return time.perf_counter() - started

    return float(client.portal.call(run))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
