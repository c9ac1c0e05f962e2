"""Search at scale: ``SearchIndex`` next to SQLite FTS5, at ~3.6k and ~30k articles, same run.

For each size both engines index the same loaded articles (title, summary, keywords and body
text), then each is measured in a fresh process of its own (so memory figures are its own):

- build: indexing every article into a fresh on-disk index (in the build process);
- query p50 / p99 / mean over ``queries-helpdocs.txt`` (``--rounds`` passes; our result
  cache off, so every query is computed; the first pass is also reported on its own), in wall
  time and in the process' CPU time (``time.process_time``): on a shared machine other jobs
  stretch the wall time of whichever engine they happen to hit, the CPU time much less;
- save → searchable: one article changed through a *second* handle on the index (as another
  worker process would), then searched through the first handle until found (median / max);
- RSS: the process' resident memory after the queries (VmRSS) and its peak (VmHWM), both
  including Python and the imports (a bare ``python -c 'import selfservice.search'`` is given
  as the floor).

The FTS5 reference is the one of ``search_latency.py`` and the corpus README: porter tokenizer,
the query's words ORed, ``bm25(title=2, body=1)``.

``--semantic`` measures a third process: ours with ``SemanticReranker`` (the ``semantic``
extra) re-ranking the best results of every query, on an index of its own built with it (as a
host with the re-ranker builds it: each title's vector is written at indexing time). ``--repeat N`` runs each engine's query
process N times, in turn (ours, FTS5, ours, FTS5, …), reports each figure's median and the
p99 ratio of every turn: on a shared machine a busy spell then cannot land on one engine only.

    python benchmarks/search_scale.py [--sizes 3671,30000] [--rounds 3] [--semantic] [--repeat 3]

The 30k corpus is made with ``../shared/corpora/make_scale.py`` into ``build/helpdocs-30k``
when missing; articles are rendered once and cached in ``build/render-cache-<name>.pickle``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "corpora"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_latency import Fts5, corpus, percentile, read_queries  # noqa: E402

SAVES = 5
# What tests/test_search.py checks for caps and messages, timed here (goal: each < 0.5 s)
HOSTILE = {
    "700 terms": " ".join(f"term{i}" for i in range(700)),
    "700 × one word": " ".join(["outlook"] * 700),
    "bare *": "*",
    "50 prefixes": " ".join(f"{a}{b}*" for a in "sempc" for b in "aeiouyrlhn"),
    "50 typos": " ".join(f"{w}{x}" for w in ("outlok", "mailbx", "exchnge", "sharepont", "pasword")
                         for x in "qwrtzpsdfg"),  # fmt: skip
    "title:x syntax": "title:outlook body:crash",
    "10 KB punctuation": "!@#$%^&*()[]{}:;'\"<>,.?/\\|`~-=+" * 320,
    "quotes/OR/-": '"' * 99 + "(" * 99 + "OR " * 99 + "-" * 99,
    "phrase of common words": '"the mailbox is not"',
}


def corpus_for(size: int) -> Path:
    """The content folder of ``size`` articles (3671: the real set), made if missing."""
    if size == 3671:
        return corpus(None)  # search_latency's: the tarball unpacked into build/hd
    target = ROOT / "build" / f"helpdocs-{size // 1000}k"
    if not target.is_dir():
        subprocess.run([sys.executable, str(SHARED / "make_scale.py"), "--n", str(size), "--out", str(target)],
                       check=True)  # fmt: skip
    return target


def memory() -> dict[str, float]:
    """This process' VmRSS and VmHWM in MB (Linux)."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) / 1024
    return {"rss": out.get("VmRSS", 0.0), "peak": out.get("VmHWM", 0.0)}


def fts_text(a: object) -> tuple[str, str, str]:
    return (a.slug, a.title, "\n".join((a.summary, *a.keywords, a.body_text)))  # type: ignore[attr-defined]


# -- child processes ---------------------------------------------------------------------------
def child_build(content: Path, work: Path, semantic: bool) -> dict[str, float]:
    from selfservice.content import load_library
    from selfservice.search import SearchIndex, SemanticReranker

    t0 = time.perf_counter()
    lib = load_library([content], cache_file=ROOT / "build" / f"render-cache-{content.name}.pickle")
    articles = lib.indexable()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    SearchIndex(work / "ours").rebuild(articles)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    Fts5(work / "fts5.sqlite3").build([fts_text(a) for a in articles])
    fts = time.perf_counter() - t0
    build_semantic = 0.0
    if semantic:
        t0 = time.perf_counter()
        SearchIndex(work / "semantic", reranker=SemanticReranker()).rebuild(articles)
        build_semantic = time.perf_counter() - t0
    sample = articles[len(articles) // 2]
    (work / "sample.json").write_text(json.dumps({"slug": sample.slug, "title": sample.title,
                                                  "body": sample.body_text[:4000]}))  # fmt: skip
    size = {
        "ours": sum(p.stat().st_size for p in (work / "ours").rglob("*") if p.is_file()) / 1e6,
        "fts5": (work / "fts5.sqlite3").stat().st_size / 1e6,
    }
    return {"n": len(articles), "load": load_s, "build_ours": ours, "build_fts5": fts, "build_semantic": build_semantic,
            "size_ours": size["ours"], "size_fts5": size["fts5"]}  # fmt: skip


def child_query(engine: str, work: Path, queries_file: Path, rounds: int) -> dict[str, float]:
    queries = [q for q, _, _ in read_queries(queries_file)]
    sample = json.loads((work / "sample.json").read_text())
    if engine in ("ours", "semantic"):
        from selfservice.content import Article
        from selfservice.search import SearchIndex, SemanticReranker

        reranker = SemanticReranker() if engine == "semantic" else None
        folder = work / ("semantic" if reranker else "ours")
        index = SearchIndex(folder, cache_size=0, reranker=reranker)
        writer = SearchIndex(folder, reranker=reranker)  # another handle, as another worker process would have

        def search(q: str) -> list[str]:
            return [h.slug for h in index.search(q, limit=10).hits]

        def save(i: int, word: str) -> None:
            body = f"{sample['body']} {word}"
            writer.update(Article(slug=sample["slug"], title=sample["title"], summary="", body_html="",
                                  body_text=body, toc=(), category="bench"))  # fmt: skip
    else:
        fts = Fts5(work / "fts5.sqlite3")
        fts.open()
        other = sqlite3.connect(work / "fts5.sqlite3")

        def search(q: str) -> list[str]:
            return fts.search(q)

        def save(i: int, word: str) -> None:
            other.execute("DELETE FROM docs WHERE slug = ?", (sample["slug"],))
            other.execute("INSERT INTO docs VALUES (?, ?, ?)", (sample["slug"], sample["title"], f"{sample['body']} {word}"))
            other.commit()

    for q in queries[:20]:
        search(q)  # warm up the same way for both engines
    times: list[list[float]] = []
    cpu: list[float] = []
    for _ in range(rounds):
        one = []
        for q in queries:
            t0, c0 = time.perf_counter(), time.process_time()
            search(q)
            one.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        times.append(one)
    after_queries = memory()
    saves = []
    for i in range(SAVES):
        word = f"zqxv{i}savedword"
        t0 = time.perf_counter()
        save(i, word)
        while sample["slug"] not in search(word):
            if time.perf_counter() - t0 > 30:
                raise SystemExit(f"{engine}: a saved article was not searchable after 30 s")
        saves.append(time.perf_counter() - t0)
        for q in queries[i * 5 : i * 5 + 5]:
            search(q)  # a few queries between saves, as in real use
    every = [t for one in times for t in one]
    extra: dict[str, float] = {}
    if engine == "ours":
        for label, q in HOSTILE.items():  # a fresh generation after the saves: cold caches
            t0 = time.perf_counter()
            index.search(q)
            extra[f"hostile {label}"] = (time.perf_counter() - t0) * 1000
        # autocomplete: every prefix of the first 100 queries, as typed (a fresh generation
        # after the saves above, so the first call builds the title index)
        typed = [q[:i] for q in queries[:100] for i in range(2, len(q) + 1)]
        t0 = time.perf_counter()
        index.suggest(typed[0])
        extra["suggest_first"] = (time.perf_counter() - t0) * 1000
        took = []
        for prefix in typed:
            t0 = time.perf_counter()
            index.suggest(prefix)
            took.append(time.perf_counter() - t0)
        extra.update(suggest_p50=percentile(took, 50) * 1000, suggest_p99=percentile(took, 99) * 1000,
                     suggest_n=len(took))  # fmt: skip
    return {**extra,
        "p50": percentile(every, 50) * 1000, "p99": percentile(every, 99) * 1000,
        "mean": statistics.fmean(every) * 1000, "p99_first": percentile(times[0], 99) * 1000,
        "cpu_p50": percentile(cpu, 50) * 1000, "cpu_p99": percentile(cpu, 99) * 1000,
        "max": max(every) * 1000,
        "save_median": statistics.median(saves) * 1000, "save_max": max(saves) * 1000,
        "rss": after_queries["rss"], "peak": memory()["peak"],
    }  # fmt: skip


def child_floor() -> dict[str, float]:
    import selfservice.search  # noqa: F401

    return memory()


# -- driver ------------------------------------------------------------------------------------
def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs of one engine."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def run_child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    if out.returncode:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="3671,30000")
    ap.add_argument("--queries", default=str(SHARED / "queries-helpdocs.txt"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--semantic", action="store_true", help="also ours with SemanticReranker")
    ap.add_argument("--repeat", type=int, default=1,
                    help="query processes per engine, run in turn (ours, FTS5, ours, …); medians reported")  # fmt: skip
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        if kind == "build":
            result = child_build(Path(rest[0]), Path(rest[1]), rest[2] == "semantic")
        elif kind == "query":
            result = child_query(rest[0], Path(rest[1]), Path(rest[2]), int(rest[3]))
        else:
            result = child_floor()
        print(json.dumps(result))
        return

    floor = run_child("floor")
    print(f"python + import selfservice.search: RSS {floor['rss']:.0f} MB; queries {args.queries}; "
          f"{args.rounds} rounds; {SAVES} saves")  # fmt: skip
    table: dict[int, dict[str, dict[str, float]]] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        content = corpus_for(size)
        work = Path(tempfile.mkdtemp(prefix=f"ss-scale-{size}-"))
        try:
            built = run_child("build", str(content), str(work), "semantic" if args.semantic else "-")
            engines = ["ours", "fts5", *(["semantic"] if args.semantic else [])]
            runs: dict[str, list[dict[str, float]]] = {e: [] for e in engines}
            for _ in range(max(1, args.repeat)):  # in turn, so a noisy spell hits every engine alike
                for engine in engines:
                    runs[engine].append(run_child("query", engine, str(work), args.queries, str(args.rounds)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ours, fts = medians(runs["ours"]), medians(runs["fts5"])
        semantic = medians(runs["semantic"]) if args.semantic else None
        ours.update(build=built["build_ours"], size=built["size_ours"])
        fts.update(build=built["build_fts5"], size=built["size_fts5"])
        table[int(built["n"])] = {"ours": ours, "fts5": fts}
        print(f"\n{int(built['n'])} articles ({content}; loaded in {built['load']:.1f} s)")
        print(f"{'':30} {'selfservice':>12} {'FTS5':>10} {'ratio':>7}")
        rows = [
            ("build (s)", "build"), ("index size (MB)", "size"), ("query p50 (ms)", "p50"),
            ("query p99 (ms)", "p99"), ("query CPU p50 (ms)", "cpu_p50"), ("query CPU p99 (ms)", "cpu_p99"),
            ("query mean (ms)", "mean"), ("query p99, first pass (ms)", "p99_first"),
            ("query max (ms)", "max"), ("save → searchable median (ms)", "save_median"),
            ("save → searchable max (ms)", "save_max"), ("RSS after queries (MB)", "rss"), ("peak RSS (MB)", "peak"),
        ]  # fmt: skip
        for label, key in rows:
            o, f = ours[key], fts[key]
            ratio = f"{o / f:7.2f}" if f else "      -"
            print(f"{label:30} {o:12.1f} {f:10.1f} {ratio}")
        if semantic is not None:
            print(f"with SemanticReranker             {'ours+sem':>8} {'FTS5':>10} {'ratio':>7}")
            semantic.update(build=built["build_semantic"])
            for label, key in rows[:1] + rows[2:]:
                o, f = semantic[key], fts[key]
                print(f"{label:30} {o:12.1f} {f:10.1f} {o / f if f else 0:7.2f}")
        if args.repeat > 1:
            for engine in (e for e in engines if e != "fts5"):
                pairs = [o["p99"] / f["p99"] for o, f in zip(runs[engine], runs["fts5"])]
                cpu = [o["cpu_p99"] / f["cpu_p99"] for o, f in zip(runs[engine], runs["fts5"])]
                print(f"{engine} / FTS5 p99, each of {args.repeat} turns: " + " ".join(f"{r:.2f}" for r in pairs)
                      + "; CPU p99: " + " ".join(f"{r:.2f}" for r in cpu))  # fmt: skip
        hostile = {k.removeprefix("hostile "): v for k, v in ours.items() if k.startswith("hostile ")}
        print("hostile queries, cold (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in hostile.items()))
        if "suggest_p99" in ours:
            print(f"suggest(): {ours['suggest_n']:.0f} prefixes, p50 {ours['suggest_p50']:.2f} ms, "
                  f"p99 {ours['suggest_p99']:.2f} ms; first call (builds the title index) "
                  f"{ours['suggest_first']:.0f} ms")  # fmt: skip
        sys.stdout.flush()


if __name__ == "__main__":
    main()
