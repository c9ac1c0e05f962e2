"""Several uvicorn workers on one PostgreSQL database and one content folder: every
acknowledged write is stored, a saved article is searchable from every worker, and the
workers share the search index without a lock error reaching anyone (issue: runs under load)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from selfservice.store import open_store, tables
from tests.dbfixtures import PostgresServer
from tests.test_serve import Server

WORKERS = 2


@pytest.fixture
def cluster(postgres_server: PostgresServer, tmp_path: Path) -> Iterator[tuple[Server, Path, str]]:
    url = postgres_server.empty_database()
    done = subprocess.run([sys.executable, "-m", "selfservice.cli", "db", "upgrade", "--database-url", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    content = tmp_path / "content"
    (content / "faq").mkdir(parents=True)
    (content / "faq" / "opening-hours.md").write_text("---\ntitle: Opening hours\n---\nWe open at nine.\n", encoding="utf-8")
    server = Server(["--content", str(content), "--reload", "--workers", str(WORKERS), "--database-url", url,
                     "--data-dir", str(tmp_path / "data")], cwd=tmp_path)
    try:
        for _ in range(WORKERS):
            server.wait_for("Application startup complete", timeout=60)
        yield server, content, url
    finally:
        server.stop()


def _vote(base: str, n: int) -> list[int]:
    """``n`` votes from new visitors over one keep-alive connection; the receipts."""
    receipts = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for _ in range(n):
            r = c.post("/api/feedback", json={"page": "article:opening-hours", "helpful": True})
            assert r.status_code == 201, r.text
            receipts.append(r.json()["receipt"])
            c.cookies.clear()  # the next vote is another visitor's
    return receipts


async def _count_votes(url: str) -> int:
    store = await open_store(url)
    try:
        async with store.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(tables.votes))).scalar_one())
    finally:
        await store.close()


def test_workers_share_writes_search_and_the_index(cluster: tuple[Server, Path, str]) -> None:
    server, content, url = cluster
    # 1. Concurrent writes through both workers: every acknowledged vote is a row. (48 votes:
    # under the default limit of 60 feedback posts a minute from one address.)
    with ThreadPoolExecutor(16) as pool:
        receipts = [r for batch in pool.map(lambda _: _vote(server.url, 3), range(16)) for r in batch]
    assert len(receipts) == len(set(receipts)) == 48
    assert asyncio.run(_count_votes(url)) == 48

    # 2. A saved article: each worker reloads it, then every worker finds it.
    (content / "faq" / "parking.md").write_text("---\ntitle: Parking\n---\nPark behind the zeppelin hangar.\n", encoding="utf-8")
    for _ in range(WORKERS):
        server.wait_for("reloaded 1 article(s): parking", timeout=30)
    for _ in range(20):  # new connections, spread over the workers by the kernel
        with httpx.Client(base_url=server.url, timeout=30) as c:
            found = c.get("/api/search", params={"q": "zeppelin"}).json()
            assert [r["slug"] for r in found["results"]][:1] == ["parking"], found
            assert c.get("/a/parking").status_code == 200

    # 3. Nobody saw an index lock error or a server error.
    server.stop()
    log = "".join(server.log)
    assert log.count("Application startup complete") == WORKERS
    for bad in ("LockError", "Traceback", "ERROR:"):
        assert bad not in log, log[-3000:]
