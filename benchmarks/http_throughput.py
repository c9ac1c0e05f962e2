"""HTTP throughput and latency of the portal next to baselines, in the same run.

Starts uvicorn (1 worker, or --workers N) for each app on a free localhost port and
loads it with wrk (Debian package `wrk`): a bare Starlette "hello" app, a Starlette app
serving a pre-rendered Jinja page, and the portal (home, article, search page, API search)
over the bundled demo articles. Reports requests/s, p50/p99 latency and the ratio of each
portal page to the bare Starlette app. Machines here are shared and noisy: the targets are
measured in interleaved rounds (``--rounds``), each ratio against the bare app of its own round,
and the medians are reported with the spread of the ratios.

    python benchmarks/http_throughput.py [--seconds 8] [--rounds 3] [--connections 32] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BASELINES = textwrap.dedent(
    '''
    from jinja2 import Environment, DictLoader
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, PlainTextResponse
    from starlette.routing import Route

    async def hello(request):
        return PlainTextResponse("Hello, world!")

    env = Environment(loader=DictLoader({"page.html": "<!doctype html><title>{{ title }}</title><main>{{ body }}</main>"}), autoescape=True)
    PAGE = env.get_template("page.html").render(title="Reset your password", body="x" * 6000)

    async def prerendered(request):
        return HTMLResponse(PAGE)

    bare = Starlette(routes=[Route("/", hello)])
    jinja = Starlette(routes=[Route("/", prerendered)])
    '''
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(app: str, workers: int, env: dict[str, str], cwd: Path, server_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning", "--no-access-log", *server_args]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    if app.endswith("()"):
        cmd[3] = app[:-2]
        cmd.append("--factory")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # a benchmark, not a test: polling for readiness is fine
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not start")


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Accept-Encoding: gzip", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50": ms("50"), "p99": ms("99"), "errors": float(non2xx.group(1)) if non2xx else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--http", choices=["auto", "h11", "httptools"], default="auto",
                    help="uvicorn's HTTP parser (auto: httptools when installed, as with uvicorn[standard])")
    ap.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto", help="uvicorn's event loop")
    ap.add_argument("--rounds", type=int, default=3,
                    help="passes over all targets, interleaved; figures are medians, ratios per round")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("benchmarks/http_throughput.py needs wrk: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="ss-bench-"))
    (work / "bench_baselines.py").write_text(BASELINES)
    env = {**os.environ, "PYTHONPATH": f"{work}{os.pathsep}{ROOT}"}
    settings = {"demo": True, "data_dir": str(work / "data"), "site_name": "Larkspur Help"}
    env_portal = {**env, "SELFSERVICE_SETTINGS_JSON": json.dumps(settings)}

    sys.path.insert(0, str(ROOT))
    from selfservice.content import load_library
    from selfservice.settings import demo_content_dir

    lib = load_library([demo_content_dir()])
    slug = max(lib.articles.values(), key=lambda a: len(a.body_html)).slug

    targets = [
        ("bare Starlette hello", "bench_baselines:bare", "/", env),
        ("pre-rendered Jinja page", "bench_baselines:jinja", "/", env),
        ("portal home", "selfservice.cli:app_factory()", "/", env_portal),
        ("portal article", "selfservice.cli:app_factory()", f"/a/{slug}", env_portal),
        ("portal search page", "selfservice.cli:app_factory()", "/search?q=reset+password", env_portal),
        ("portal API search", "selfservice.cli:app_factory()", "/api/search?q=delivery+options", env_portal),
    ]
    # Every server runs for the whole benchmark (an idle one costs nothing) and each round
    # measures every target once, so a noisy minute on a shared machine hits all of them,
    # and each ratio is taken against the bare app of the same round.
    rounds: list[dict[str, dict[str, float]]] = []
    running: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for _label, app, _path, app_env in targets:
            if app not in running:
                running[app] = start(app, args.workers, app_env, work, ("--http", args.http, "--loop", args.loop))
        for label, app, path, _env in targets:  # warm-up
            wrk(f"http://127.0.0.1:{running[app][1]}{path}", 1, args.connections)
        for _ in range(args.rounds):
            this: dict[str, dict[str, float]] = {}
            for label, app, path, _env in targets:
                this[label] = wrk(f"http://127.0.0.1:{running[app][1]}{path}", args.seconds, args.connections)
            rounds.append(this)
    finally:
        for proc, _ in running.values():
            proc.terminate()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)

    results: dict[str, dict[str, float]] = {}
    for label, *_ in targets:
        runs = [r[label] for r in rounds]
        results[label] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        results[label]["errors"] = sum(run["errors"] for run in runs)
        ratios = [r[label]["rps"] / r["bare Starlette hello"]["rps"] for r in rounds]
        results[label]["ratio"] = statistics.median(ratios)
        results[label]["ratio_min"], results[label]["ratio_max"] = min(ratios), max(ratios)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"http={args.http} loop={args.loop} workers={args.workers} connections={args.connections} seconds={args.seconds} rounds={args.rounds} "
          f"(article: /a/{slug}); medians over the rounds; × bare is the median of per-round ratios (min–max)")
    print(f"{'target':26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'× bare':>7} {'min–max':>11} {'non-2xx':>8}")
    for label, r in results.items():
        spread = f"{r['ratio_min']:.2f}–{r['ratio_max']:.2f}"
        print(f"{label:26} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f} {r['ratio']:7.2f} {spread:>11} {r['errors']:8.0f}")


if __name__ == "__main__":
    main()
