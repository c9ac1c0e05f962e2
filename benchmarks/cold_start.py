"""Cold start of the portal over the ~3.6k helpdocs articles: first build, then warm restarts.

Each measurement is a fresh Python process timing `create_portal(...)` and the first article
request, so imports are included and nothing is shared between runs:

1. first start: renders every article and builds the search index (empty data folder);
2. restarts with the render cache and the index persisted (median of --runs).

    python benchmarks/cold_start.py [--corpus build/hd/helpdocs] [--runs 3] [--data DIR]

``--data DIR`` keeps the data folder (render cache, body store, index) for a later look,
such as profiling a restart; the first start is run only while DIR has no render cache.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_TAR = ROOT.parent / "shared" / "corpora" / "helpdocs.tar.gz"

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from starlette.testclient import TestClient
from selfservice import Settings, create_portal
t1 = time.perf_counter()
portal = create_portal(Settings(content_dirs=[sys.argv[1]], data_dir=sys.argv[2], demo=True))
t2 = time.perf_counter()
slug = sorted(portal.ss.library.articles)[0]
with TestClient(portal) as c:
    assert c.get(f"/a/{slug}").status_code == 200
    assert c.get("/api/search", params={"q": "outlook crash"}).status_code == 200
t3 = time.perf_counter()
import resource
print(json.dumps({"import": t1 - t0, "create_portal": t2 - t1, "first_requests": t3 - t2,
                  "articles": len(portal.ss.library.articles),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def corpus(path: str | None) -> Path:
    if path:
        return Path(path)
    target = ROOT / "build" / "hd"
    if not (target / "helpdocs").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(CORPUS_TAR) as tf:
            tf.extractall(target, filter="data")
    return target / "helpdocs"


def run(content: Path, data: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(content), str(data)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", help="data folder to use and keep (default: a temporary one, removed)")
    args = ap.parse_args()
    content = corpus(args.corpus)
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="ss-cold-"))
    try:
        first = run(content, data) if not (data / "render-cache.pickle").exists() else None
        warm = [run(content, data) for _ in range(args.runs)]
    finally:
        if not args.data:
            shutil.rmtree(data, ignore_errors=True)
    med = {k: statistics.median(r[k] for r in warm) for k in warm[0]}
    print(f"corpus: {content} ({int(warm[0]['articles'])} articles)")
    print(f"{'':34} {'imports':>8} {'create_portal':>14} {'first 2 requests':>17} {'peak RSS MB':>12}")
    if first is not None:
        print(f"{'first start (render + index build)':34} {first['import']:8.2f} {first['create_portal']:14.2f} "
              f"{first['first_requests']:17.3f} {first['rss_mb']:12.0f}")
    print(f"{'restart, median of ' + str(args.runs):34} {med['import']:8.2f} {med['create_portal']:14.2f} "
          f"{med['first_requests']:17.3f} {med['rss_mb']:12.0f}")


if __name__ == "__main__":
    main()
