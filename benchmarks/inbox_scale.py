"""The staff inbox over a large desk: query time per filter, and the whole page, on SQLite.

Fills a fresh SQLite store with N requests (default 50,000: contact and complaint, every
status, five topics, a tenth assigned, a few hundred overdue) by bulk insert, then times:

* the baseline: ``portal.requests.get(reference)`` — one request by its unique reference;
* ``portal.requests.inbox(...)`` for the filters staff use most (a page of 25 with the total,
  the per-status counts and the overdue count: four queries);
* ``GET /staff/?...`` through the ASGI app (query + rendering the page), in-process.

Reports the median and p95 of R repetitions in milliseconds, each next to the baseline's, and
SQLite's query plan for the list query, so a missing index shows as a table SCAN.

    python benchmarks/inbox_scale.py [--requests 50000] [--repeat 30]
"""

from __future__ import annotations

import argparse
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

SCENARIOS: list[tuple[str, dict[str, Any]]] = [
    ("open, most urgent", {}),
    ("overdue only", {"overdue": True}),
    ("complaints, any status, newest", {"status": "any", "kind": "complaint", "sort": "newest"}),
    ("assigned to one person", {"assignee": "agent-3"}),
    ("unassigned, topic billing", {"assignee": "", "topic": "billing"}),
    ("text: part of an email", {"status": "any", "text": "customer123"}),
    ("any status, page 40", {"status": "any", "page": 40}),
]


async def fill(store: Any, n: int, now: datetime) -> str:
    from sqlalchemy import insert

    from selfservice.store.cases import STATUSES
    from selfservice.store.tables import requests

    rng = random.Random(7)
    topics = ["order", "billing", "account", "product", "other"]
    rows = []
    for i in range(n):
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
        status = rng.choices(STATUSES, weights=[1, 2, 4, 2, 20, 60])[0]
        kind = "complaint" if rng.random() < 0.2 else "contact"
        rows.append({
            "reference": f"{'C' if kind == 'complaint' else 'R'}-{i:04X}-{rng.randrange(16**4):04X}", "kind": kind,
            "status": status, "topic": rng.choice(topics), "subject": f"Question number {i}",
            "message": "Hello, something is wrong with my order. " * 4, "email": f"customer{i}@example.com",
            "locale": "en", "created_at": created, "updated_at": created,
            "due_at": created + timedelta(days=10 if kind == "complaint" else 3),
            "assignee": f"agent-{rng.randrange(8)}" if rng.random() < 0.1 else None,
        })
    async with store.write() as conn:
        for start in range(0, n, 5000):
            await conn.execute(insert(requests), rows[start:start + 5000])
    return str(rows[n // 2]["reference"])


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def summary(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--index", action="append", default=[], metavar="COLUMNS",
                        help="an extra index on requests to try, e.g. --index assignee,status")
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from selfservice import Settings, create_portal
    from selfservice.store.inbox import InboxFilter

    data = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    portal = create_portal(Settings(demo=True, secret_key="benchmark-secret-key-0123456789", data_dir=data,
                                    is_staff=lambda request: True, rate_limit_feedback=None))
    with TestClient(portal) as client:
        call = client.portal.call  # type: ignore[union-attr]
        now = datetime.now(UTC)
        store = call(portal.desk.store)
        t = time.perf_counter()
        middle = call(fill, store, args.requests, now)
        print(f"filled {args.requests:,} requests in {time.perf_counter() - t:.1f} s (SQLite, {data})")
        for columns in args.index:
            call(_index, store, columns)
            print(f"extra index on requests ({columns})")
        base = summary(timed(lambda: call(portal.requests.get, middle), args.repeat))
        print(f"{'scenario':34} {'rows':>7} {'store p50':>10} {'p95':>7} {'× get':>6} {'page p50':>9} {'p95':>7}")
        print(f"{'baseline: get(reference)':34} {1:>7} {base[0]:>10.2f} {base[1]:>7.2f} {1.0:>6.1f}")
        for name, fields in SCENARIOS:
            view = InboxFilter(**fields)
            found = call(portal.requests.inbox, view)
            q = summary(timed(lambda: call(portal.requests.inbox, view), args.repeat))
            params = {k: ("unassigned" if k == "assignee" and v == "" else "1" if v is True else str(v))
                      for k, v in fields.items()}
            params = {("q" if k == "text" else k): v for k, v in params.items()}
            r = client.get("/staff/", params=params)
            assert r.status_code == 200, (name, r.status_code)
            p = summary(timed(lambda: client.get("/staff/", params=params), args.repeat))
            print(f"{name:34} {found.total:>7,} {q[0]:>10.2f} {q[1]:>7.2f} {q[0] / base[0]:>6.1f} {p[0]:>9.2f} {p[1]:>7.2f}")
        print("\nSQLite query plans of the list query:")
        call(_plans, store, now)


async def _index(store: Any, columns: str) -> None:
    from sqlalchemy import text

    names = [c.strip() for c in columns.split(",") if c.strip().isidentifier()]
    async with store.write() as conn:
        await conn.execute(text(f"CREATE INDEX bench_{'_'.join(names)} ON requests ({', '.join(names)})"))
        await conn.execute(text("ANALYZE"))


async def _plans(store: Any, now: datetime) -> None:
    from sqlalchemy import select, text

    from selfservice.store.inbox import InboxFilter, InboxRow, _conditions, _order
    from selfservice.store.tables import requests

    for name, fields in SCENARIOS:
        f = InboxFilter(**fields)
        query = select(*[requests.c[c] for c in InboxRow.__dataclass_fields__]).where(*_conditions(f, now))
        query = query.order_by(*_order(f.sort)).limit(f.per_page)
        compiled = query.compile(compile_kwargs={"literal_binds": True}, dialect=store.engine.dialect)
        async with store.read() as conn:
            plan = (await conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
        print(f"  {name}: " + "; ".join(str(row[-1]) for row in plan))


if __name__ == "__main__":
    main()
