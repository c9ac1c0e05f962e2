"""CPU time per request of portal pages, in process: a steadier figure than req/s on a busy machine.

Builds the demo portal (as ``selfservice serve --demo`` does), runs its lifespan, then sends
each path ``--n`` times straight into the ASGI app (no sockets, no server) and reports the
wall time and the process' CPU time per request (``time.process_time``: every thread of this
process, so the search worker threads and the analytics writes are counted). On a shared
machine other processes slow the wall time; the CPU time moves much less. ``--profile``
prints cProfile's top functions for the first path (the main thread only: the search itself
runs in a worker thread and is timed by ``benchmarks/search_latency.py``).

    python benchmarks/page_cpu.py [--n 400] [--rounds 3] [--profile] [PATH ...]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["/search?q=reset+password", "/api/search?q=delivery+options", "/"]


async def call(app: Any, path: str) -> int:
    route, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": route, "raw_path": route.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"localhost"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def run(paths: list[str], n: int, rounds: int, profile: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from selfservice import Settings
    from selfservice.app import create_portal

    app = create_portal(Settings(demo=True, data_dir=tempfile.mkdtemp(prefix="ss-cpu-"), site_name="Larkspur Help"))
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, lifespan_send))
    await started.wait()
    try:
        for path in paths:  # warm-up: caches, templates, the first search of each
            for _ in range(20):
                assert await call(app, path) == 200, path
        print(f"{'path':36} {'wall ms/req':>12} {'CPU ms/req':>11}   (median of {rounds} rounds of {n})")
        for i, path in enumerate(paths):
            walls, cpus = [], []
            for _ in range(rounds):
                profiler = cProfile.Profile() if profile and i == 0 else None
                t0, c0 = time.perf_counter(), time.process_time()
                if profiler:
                    profiler.enable()
                for _ in range(n):
                    await call(app, path)
                if profiler:
                    profiler.disable()
                walls.append((time.perf_counter() - t0) / n * 1000)
                cpus.append((time.process_time() - c0) / n * 1000)
            print(f"{path:36} {statistics.median(walls):12.2f} {statistics.median(cpus):11.2f}")
            if profiler:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=PATHS)
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    asyncio.run(run(args.paths, args.n, args.rounds, args.profile))


if __name__ == "__main__":
    main()
