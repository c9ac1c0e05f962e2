"""Search speed and hit rate of ``SearchIndex`` next to SQLite FTS5, over the same articles.

Both engines index the same loaded articles (title + body text) in the same run; every figure
is also given as a ratio to FTS5 (below 1.0 = we are faster / lower). FTS5 is the reference of
the corpus README: porter tokenizer, the query's words ORed, ``bm25(title=2, body=1)``.

Measured, per engine:
- build: indexing every article into a fresh on-disk index;
- open: opening the persisted index and answering a first query (what a restart pays), and for
  us also ``sync()`` with nothing changed (what ``create_portal`` calls at start-up);
- query latency p50/p99/mean over ``queries-helpdocs.txt`` (``--rounds`` passes, result cache
  off, so every query is computed);
- hit@10 / hit@1: the source article among the first 10 / first (also for the 30 typo queries).

    python benchmarks/search_latency.py [--corpus build/hd/helpdocs] [--rounds 3]
    python ../shared/corpora/make_scale.py --n 30000 --out build/helpdocs-30k
    python benchmarks/search_latency.py --corpus build/helpdocs-30k --queries ../shared/corpora/queries-helpdocs.txt
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import statistics
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
WORD = re.compile(r"\w+")


def corpus(path: str | None) -> Path:
    """The content folder; by default the helpdocs tarball unpacked into build/hd."""
    if path:
        return Path(path)
    target = ROOT / "build" / "hd"
    if not (target / "helpdocs").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(SHARED / "helpdocs.tar.gz") as tf:
            tf.extractall(target, filter="data")
    return target / "helpdocs"


def read_queries(path: Path) -> list[tuple[str, str, bool]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("query\t", "#")):
            continue
        q, slug, typo = line.split("\t")[:3]
        rows.append((q, slug, typo.strip() == "1"))
    return rows


def percentile(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


class Fts5:
    """The reference: SQLite FTS5 with the porter tokenizer, words ORed, bm25 title 2 body 1."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None

    def build(self, docs: Sequence[tuple[str, str, str]]) -> None:
        db = sqlite3.connect(self.path)
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(slug UNINDEXED, title, body, tokenize='porter')")
        db.executemany("INSERT INTO docs VALUES (?, ?, ?)", docs)
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        db.commit()
        db.close()

    def open(self) -> None:
        self.db = sqlite3.connect(self.path, check_same_thread=False)

    def search(self, q: str, limit: int = 10) -> list[str]:
        assert self.db is not None
        words = WORD.findall(q.lower())
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        sql = "SELECT slug FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0.0, 2.0, 1.0) LIMIT ?"
        return [row[0] for row in self.db.execute(sql, (match, limit))]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(search: Callable[[str], list[str]], queries: list[tuple[str, str, bool]], rounds: int) -> dict[str, float]:
    for q, _, _ in queries[:20]:
        search(q)  # warm caches (stemmer, OS pages) the same way for both engines
    times: list[float] = []
    ranked: dict[str, list[str]] = {}
    for _ in range(rounds):
        for q, _, _ in queries:
            t0 = time.perf_counter()
            ranked[q] = search(q)
            times.append(time.perf_counter() - t0)
    out = {"p50": percentile(times, 50) * 1000, "p99": percentile(times, 99) * 1000,
           "mean": statistics.fmean(times) * 1000}  # fmt: skip
    for name, rows in (("", queries), ("_clean", [r for r in queries if not r[2]]), ("_typo", [r for r in queries if r[2]])):
        out["hit10" + name] = sum(slug in ranked[q][:10] for q, slug, _ in rows)
        out["hit1" + name] = sum(ranked[q][:1] == [slug] for q, slug, _ in rows)
        out["n" + name] = len(rows)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", help="content folder (default: helpdocs unpacked into build/hd)")
    ap.add_argument("--queries", default=str(SHARED / "queries-helpdocs.txt"))
    ap.add_argument("--rounds", type=int, default=3, help="passes over the queries (default 3)")
    ap.add_argument("--keep", help="build the indexes in this folder and keep them")
    args = ap.parse_args()

    from selfservice.content import load_library
    from selfservice.search import SearchIndex

    content = corpus(args.corpus)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ss-search-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        lib = load_library([content], cache_file=ROOT / "build" / f"render-cache-{content.name}.pickle")
        articles = lib.searchable()
        load_s = time.perf_counter() - t0
        queries = read_queries(Path(args.queries))
        print(f"corpus {content}: {len(articles)} articles loaded in {load_s:.1f} s; {len(queries)} queries, "
              f"{args.rounds} rounds")  # fmt: skip

        ours_dir, fts_path = work / "selfservice-index", work / "fts5.sqlite3"
        shutil.rmtree(ours_dir, ignore_errors=True)
        fts_path.unlink(missing_ok=True)
        build = {
            "ours": timed(lambda: SearchIndex(ours_dir).rebuild(articles)),
            "fts5": timed(lambda: Fts5(fts_path).build([(a.slug, a.title, a.body_text) for a in articles])),
        }
        size = {
            "ours": sum(p.stat().st_size for p in ours_dir.rglob("*") if p.is_file()) / 1e6,
            "fts5": fts_path.stat().st_size / 1e6,
        }
        index = SearchIndex(ours_dir, cache_size=0)
        fts = Fts5(fts_path)
        opened = {
            "ours": timed(lambda: index.search("outlook crash")),
            "fts5": timed(lambda: (fts.open(), fts.search("outlook crash"))),
        }
        sync_s = timed(lambda: SearchIndex(ours_dir).sync(articles))
        results = {
            "ours": measure(lambda q: [h.slug for h in index.search(q, limit=10).hits], queries, args.rounds),
            "fts5": measure(fts.search, queries, args.rounds),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    o, f = results["ours"], results["fts5"]
    rows = [
        ("build (s)", build["ours"], build["fts5"]),
        ("index size (MB)", size["ours"], size["fts5"]),
        ("open + first query (ms)", opened["ours"] * 1000, opened["fts5"] * 1000),
        ("query p50 (ms)", o["p50"], f["p50"]),
        ("query p99 (ms)", o["p99"], f["p99"]),
        ("query mean (ms)", o["mean"], f["mean"]),
        (f"hit@10 all (of {o['n']:.0f})", o["hit10"], f["hit10"]),
        (f"hit@10 no typo (of {o['n_clean']:.0f})", o["hit10_clean"], f["hit10_clean"]),
        (f"hit@10 typo (of {o['n_typo']:.0f})", o["hit10_typo"], f["hit10_typo"]),
        (f"hit@1 all (of {o['n']:.0f})", o["hit1"], f["hit1"]),
    ]
    print(f"\n{'':28} {'selfservice':>12} {'FTS5':>10} {'ratio':>7}")
    for name, ours, ref in rows:
        ratio = f"{ours / ref:7.2f}" if ref else "      -"
        print(f"{name:28} {ours:12.2f} {ref:10.2f} {ratio}")
    print(f"{'sync(), nothing changed (ms)':28} {sync_s * 1000:12.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
