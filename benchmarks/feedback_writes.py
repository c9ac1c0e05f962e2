"""Feedback writes over real HTTP: throughput, nothing lost, and nothing lost after kill -9.

Starts the portal under uvicorn (1 worker, a subprocess) on a free localhost port and drives
``POST /api/feedback`` (a "Was this helpful?" vote) from C concurrent keep-alive clients written
with plain asyncio streams, so the load generator costs little next to the server on a small
machine. Every request is a new visitor (no cookie), so every acknowledged answer (201 with a
``receipt``) must be one row in ``votes``.

0. **Baselines**, same run, same load generator: a bare Starlette app answering the same POST
   without storing anything (the HTTP ceiling of this machine), and the store alone (votes
   straight to ``portal.desk.feedback.vote``, no HTTP).
1. **Throughput**: C clients for S seconds → acknowledged writes/s, latency percentiles and
   the server's CPU time per write (all its processes, from ``/proc``: steadier than writes/s
   when other jobs share the machine); then the rows are counted: ``lost = acknowledged -
   rows`` must be 0.
2. **kill -9**: a storm of writes, the server killed with SIGKILL in the middle of it, then
   restarted on the same database: every receipt acknowledged before the kill must be there.

Backends: SQLite (the default embedded file, ``synchronous=FULL``) and PostgreSQL — a
throwaway server started from the installed binaries (``initdb``; as root it runs as the
``postgres`` user) with its default, durable settings (``fsync=on``, ``synchronous_commit=on``),
or ``--database-url`` for one you run.

    python benchmarks/feedback_writes.py [--backend sqlite|postgresql|both] [--clients 16 32 64]
                                         [--seconds 10] [--workers 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



def app_factory() -> Any:
    """The portal under test (uvicorn ``--factory``): demo content, no rate limit, settings from the environment."""
    from selfservice import Settings, create_portal

    return create_portal(Settings(demo=True, secret_key="benchmark-secret-key-0123456789",
                                  data_dir=os.environ["BENCH_DATA_DIR"], database_url=os.environ.get("BENCH_DB_URL") or None,
                                  rate_limit_feedback=None, feedback_retention_days=None))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the server under test ----------------------------------------------------------------------


def bare_factory() -> Any:
    """The baseline: a bare Starlette app answering the same POST like the portal, storing nothing."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    counter = iter(range(1, 10**12))

    async def feedback(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse({"ok": True, "receipt": next(counter)}, status_code=201)

    return Starlette(routes=[Route("/api/feedback", feedback, methods=["POST"])])


class Server:
    """``uvicorn --factory benchmarks.feedback_writes:app_factory`` in its own process group."""

    workers = 1
    server_args: list[str] = []  # --http / --loop for uvicorn (default: its "auto" choice)

    def __init__(self, data_dir: Path, url: str | None, factory: str = "app_factory") -> None:
        self.data_dir, self.url, self.port = data_dir, url, free_port()
        env = {**os.environ, "BENCH_DATA_DIR": str(data_dir), "BENCH_DB_URL": url or "", "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", f"benchmarks.feedback_writes:{factory}", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning", "--no-access-log",
             *self.server_args],
            cwd=ROOT, env=env, stderr=subprocess.PIPE, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"GET /api/articles HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
                    if s.recv(12).startswith(b"HTTP/1.1 "):
                        return
            except OSError:
                pass
            time.sleep(0.1)  # a benchmark, not a test: polling for the port is fine here
        raise SystemExit("the server did not start")

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the server's processes (its process group):
        per write, a steadier figure than writes/s when other jobs share the machine."""
        tick, total = os.sysconf("SC_CLK_TCK"), 0.0
        for stat in glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # pgrp: the server was started in its own session
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the server and every worker: no cleanup at all
        self.proc.wait()


# -- the load -----------------------------------------------------------------------------------


async def client(port: int, body: bytes, stop_at: float, receipts: list[int], latencies: list[float],
                 errors: list[str], stop: asyncio.Event) -> None:
    request = (b"POST /api/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        errors.append(f"connect: {exc}")
        return
    try:
        while time.monotonic() < stop_at and not stop.is_set():
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await reader.readexactly(length)
            if status != 201:
                errors.append(f"{status} {payload[:200]!r}")
                continue
            receipts.append(int(json.loads(payload)["receipt"]))  # acknowledged: committed
            latencies.append(time.perf_counter() - started)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        if not stop.is_set():
            errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


async def load(port: int, clients: int, seconds: float, slug: str, kill_after: float | None = None,
               kill: Any = None) -> tuple[list[int], list[float], list[str], float]:
    body = json.dumps({"page": f"article:{slug}", "helpful": True}).encode()
    receipts: list[int] = []
    latencies: list[float] = []
    errors: list[str] = []
    stop = asyncio.Event()
    started = time.monotonic()
    tasks = [asyncio.create_task(client(port, body, started + seconds, receipts, latencies, errors, stop))
             for _ in range(clients)]
    if kill_after is not None:
        await asyncio.sleep(kill_after)
        kill()
        stop.set()
        print(f"  kill -9 after {kill_after:g} s; {len(receipts)} answers read so far (more may be in flight)", flush=True)
    await asyncio.gather(*tasks)
    return receipts, latencies, errors, time.monotonic() - started


def stored_ids(url: str) -> set[int]:
    from selfservice.store import open_store, tables

    async def run() -> set[int]:
        from sqlalchemy import select

        async with await open_store(url) as store, store.read() as conn:
            return set((await conn.execute(select(tables.votes.c.id))).scalars())

    return asyncio.run(run())


def clear_votes(url: str) -> None:
    from selfservice.store import open_store, tables

    async def run() -> None:
        async with await open_store(url) as store, store.write() as conn:
            await conn.execute(tables.votes.delete())

    asyncio.run(run())


# -- PostgreSQL ---------------------------------------------------------------------------------


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server with durable default settings; yields its URL."""
    found = shutil.which("initdb") or next(iter(sorted(glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)), None)
    if not found:
        raise SystemExit("PostgreSQL server binaries (initdb) are not installed; apt-get install postgresql")
    bin_dir = Path(found).resolve().parent
    base = Path(tempfile.mkdtemp(prefix="ss-bench-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (base, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C"], check=True, capture_output=True)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} -c max_connections=100"
    subprocess.run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o", options,
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


# -- the runs -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def run_backend(name: str, url: str | None, clients_list: list[int], seconds: float, kill_after: float) -> list[str]:
    from selfservice.settings import Settings

    data_dir = Path(tempfile.mkdtemp(prefix=f"ss-bench-{name}-"))
    db_url = url or Settings(data_dir=data_dir).db_url
    if url:
        from selfservice.store import upgrade

        asyncio.run(upgrade(url))
        clear_votes(url)
    from selfservice.settings import demo_content_dir

    slug = sorted(p.stem for p in demo_content_dir().rglob("*.md") if not p.name.startswith("_"))[0]
    rows: list[str] = []
    server = Server(data_dir, url)
    try:
        for clients in clients_list:
            before = stored_ids(db_url)
            cpu = server.cpu()
            receipts, latencies, errors, elapsed = asyncio.run(load(server.port, clients, seconds, slug))
            cpu = server.cpu() - cpu
            after = stored_ids(db_url)
            new_rows = after - before
            lost = len(set(receipts) - after)
            rows.append(f"{name:<10} {clients:>7} {len(receipts) / elapsed:>9.0f} {pct(latencies, .5):>7.1f} "
                        f"{pct(latencies, .99):>7.1f} {len(receipts):>8} {len(new_rows):>8} {lost:>5} {len(errors):>6} "
                        f"{cpu * 1000 / max(len(receipts), 1):>7.2f}")
            print(rows[-1], flush=True)
            if errors:
                print("   first errors:", errors[:3], flush=True)
    finally:
        server.stop()
    # kill -9 in the middle of a storm, then restart on the same database.
    server = Server(data_dir, url)
    before = stored_ids(db_url)
    receipts, _, errors, _ = asyncio.run(load(server.port, max(clients_list), kill_after * 4, slug,
                                              kill_after=kill_after, kill=server.kill9))
    server = Server(data_dir, url)  # restart: the store opens and checks the database
    try:
        after = stored_ids(db_url)
    finally:
        server.stop()
    missing = set(receipts) - after
    rows.append(f"{name:<10} kill -9: {len(receipts)} writes acknowledged to clients, {len(after - before)} rows after "
                f"restart, {len(missing)} acknowledged writes missing")
    print(rows[-1], flush=True)
    if name == "sqlite":
        shutil.rmtree(data_dir, ignore_errors=True)
    return rows


def run_baselines(clients_list: list[int], seconds: float) -> None:
    """The same load on a bare Starlette app (no portal, no database), and the portal's store
    without HTTP (votes straight to ``portal.desk.feedback.vote``): where the ceiling is."""
    server = Server(Path(tempfile.mkdtemp(prefix="ss-bench-bare-")), None, factory="bare_factory")
    try:
        for clients in clients_list:
            cpu = server.cpu()
            receipts, latencies, errors, elapsed = asyncio.run(load(server.port, clients, seconds, "x"))
            cpu = server.cpu() - cpu
            print(f"{'bare HTTP':<10} {clients:>7} {len(receipts) / elapsed:>9.0f} {pct(latencies, .5):>7.1f} "
                  f"{pct(latencies, .99):>7.1f} {len(receipts):>8} {'-':>8} {'-':>5} {len(errors):>6} "
                  f"{cpu * 1000 / max(len(receipts), 1):>7.2f}", flush=True)
    finally:
        server.stop()

    async def in_process(clients: int) -> tuple[float, float]:
        from selfservice import Settings, create_portal

        portal = create_portal(Settings(demo=True, secret_key="b" * 32, data_dir=tempfile.mkdtemp(prefix="ss-bench-")))
        await portal.desk.open()
        done, stop_at = 0, time.monotonic() + min(seconds, 5)

        async def voter(i: int) -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                await portal.desk.feedback.vote("article", "x", f"v{i}-{done}", True)
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(voter(i) for i in range(clients)))
        elapsed = time.monotonic() - started
        commits = portal.desk._group.commits if portal.desk._group else 0
        await portal.desk.close()
        await portal.ss.close_store()
        return done / elapsed, done / max(commits, 1)

    rate, per_commit = asyncio.run(in_process(max(clients_list)))
    print(f"{'no HTTP':<10} {max(clients_list):>7} {rate:>9.0f}   (sqlite, votes straight into the store; "
          f"{per_commit:.0f} writes per commit)", flush=True)


def server_stack() -> str:
    """What uvicorn's "auto" picks here: httptools and uvloop when installed (uvicorn[standard])."""
    import importlib.util

    have = [name for name in ("httptools", "uvloop") if importlib.util.find_spec(name)]
    return "installed: " + (", ".join(have) if have else "neither httptools nor uvloop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--kill-after", type=float, default=3.0, help="seconds into the storm to kill -9 the server")
    parser.add_argument("--database-url", help="a PostgreSQL database to use instead of a throwaway server")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--http", choices=["auto", "h11", "httptools"], default="auto",
                        help="uvicorn's HTTP parser (auto: httptools when installed, as with uvicorn[standard])")
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto", help="uvicorn's event loop")
    args = parser.parse_args()
    Server.workers = args.workers
    Server.server_args = ["--http", args.http, "--loop", args.loop]
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} uvicorn workers={args.workers} "
          f"http={args.http} loop={args.loop} ({server_stack()}), "
          f"{args.seconds:g} s per run, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(f"{'backend':<10} {'clients':>7} {'writes/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'acked':>8} {'rows':>8} "
          f"{'lost':>5} {'errors':>6} {'CPU ms':>7}   (CPU ms: the server's CPU time per write)", flush=True)
    run_baselines(args.clients, args.seconds)
    if args.backend in ("sqlite", "both"):
        run_backend("sqlite", None, args.clients, args.seconds, args.kill_after)
    if args.backend in ("postgresql", "both"):
        if args.database_url:
            run_backend("postgresql", args.database_url, args.clients, args.seconds, args.kill_after)
        else:
            with postgres() as url:
                run_backend("postgresql", url, args.clients, args.seconds, args.kill_after)


if __name__ == "__main__":
    main()
