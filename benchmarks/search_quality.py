"""Search quality of ``SearchIndex`` on the StackFAQ corpus: P@1, MRR, R@5, clean and with typos.

The corpus (``../shared/corpora/stackfaq``, see its README) has 719 articles and 620 dev
queries; its holdout queries are elsewhere, so the figures here are an estimate. Scores come
from the corpus' own ``evaluate.py``, used as its README says: this script writes each
ranking to a JSON-lines file and runs ``evaluate.py --queries Q --rankings R --depth 10
--json`` on it (the bar asks the portal for 10 results).

Every figure is given for all dev queries and per fold: the dev *threads* (a query's
relevant articles are one thread's answers) are split into ``--folds`` groups by the sha256
of the thread id, so no thread is in two folds. ``--tune`` checks that the ranking's knobs
generalise: for each fold it picks the best grid point on the *other* folds (by P@1 + R@5,
scored with ``evaluate.score``, the same function) and reports that choice on the held-out
fold, next to the shipped defaults.

Typos: each query gets exactly one, deterministically (seeded by ``--seed`` and the query
text): in one word of at least four letters, one of swap two neighbouring letters / drop /
insert / replace a letter, never the first letter (as in ``queries-helpdocs.txt``).

``--semantic`` adds the figures with :class:`~selfservice.search.SemanticReranker` (the
``semantic`` extra); with ``--tune`` its ``depth`` and ``weight`` are cross-validated the same
way, and the held-out rankings of all folds are scored together (the cross-validated figure).

    python benchmarks/search_quality.py [--folds 2] [--tune] [--semantic] [--synonyms FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STACKFAQ = ROOT.parent / "shared" / "corpora" / "stackfaq"
DEPTH = 10
_LETTERS = re.compile(r"[^\W\d_]{4,}")

Query = tuple[str, frozenset[str]]


def inject_typo(query: str, seed: int = 1) -> str:
    """``query`` with one typo in one word of ≥ 4 letters (unchanged if it has no such word)."""
    rng = random.Random(f"{seed}:{query}")
    words = list(_LETTERS.finditer(query))
    if not words:
        return query
    m = rng.choice(words)
    word = m.group()
    for _ in range(20):
        op = rng.choice(("swap", "drop", "insert", "replace"))
        i = rng.randrange(1, len(word))  # never the first letter
        if op == "swap":
            i = min(i, len(word) - 2)
            typo = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        elif op == "drop":
            typo = word[:i] + word[i + 1 :]
        elif op == "insert":
            typo = word[:i] + rng.choice(string.ascii_lowercase) + word[i:]
        else:
            typo = word[:i] + rng.choice(string.ascii_lowercase.replace(word[i].lower(), "")) + word[i + 1 :]
        if typo.lower() != word.lower():
            return query[: m.start()] + typo + query[m.end() :]
    return query


def thread(slugs: frozenset[str]) -> str:
    return min(slugs).rsplit("-", 1)[0]  # sf-002-3 → sf-002


def fold_of(slugs: frozenset[str], folds: int) -> int:
    return int(hashlib.sha256(thread(slugs).encode()).hexdigest(), 16) % folds


def evaluate_cli(evaluate: Path, queries: Sequence[Query], ranks: dict[str, list[str]], work: Path) -> dict[str, float]:
    """Run the corpus' evaluate.py on these queries and rankings; its JSON metrics."""
    qfile, rfile = work / "queries.tsv", work / "rankings.jsonl"
    with open(qfile, "w", encoding="utf-8") as f:
        f.write("query\trelevant_slugs\n")
        f.writelines(f"{q}\t{','.join(sorted(rel))}\n" for q, rel in queries)
    with open(rfile, "w", encoding="utf-8") as f:
        f.writelines(json.dumps({"query": q, "slugs": ranks[q]}, ensure_ascii=False) + "\n" for q, _ in queries)
    cmd = [sys.executable, str(evaluate), "--queries", str(qfile), "--rankings", str(rfile),
           "--depth", str(DEPTH), "--json"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def load_evaluate(path: Path):  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("stackfaq_evaluate", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(STACKFAQ), help="the stackfaq folder")
    ap.add_argument("--queries", help="queries TSV (default: CORPUS/queries-dev.tsv)")
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1, help="typo seed")
    ap.add_argument("--tune", action="store_true", help="k-fold check of the ranking knobs (a few minutes)")
    ap.add_argument("--synonyms", help="a synonyms file (see selfservice.search.load_synonyms)")
    ap.add_argument("--semantic", action="store_true", help="also with SemanticReranker (selfservice[semantic])")
    args = ap.parse_args()

    from selfservice.content import load_library
    from selfservice.search import SearchIndex, load_synonyms
    from selfservice.search.ranking import Weights

    corpus = Path(args.corpus)
    evaluate = corpus / "evaluate.py"
    ev = load_evaluate(evaluate)
    clean: list[Query] = [(q, frozenset(rel)) for q, rel in ev.read_queries(args.queries or corpus / "queries-dev.tsv")]
    typo: list[Query] = [(ev.norm(inject_typo(q, args.seed)), rel) for q, rel in clean]
    synonyms = load_synonyms(Path(args.synonyms)) if args.synonyms else None
    articles = load_library([corpus / "articles"]).searchable()
    work = Path(tempfile.mkdtemp(prefix="ss-quality-"))
    semantic = None
    if args.semantic:
        from selfservice.search import SemanticReranker

        t0 = time.perf_counter()
        semantic = SemanticReranker()
        print(f"SemanticReranker loaded in {time.perf_counter() - t0:.2f} s (depth {semantic.depth}, "
              f"weight {semantic.weight})")  # fmt: skip
    t0 = time.perf_counter()
    # with --semantic the index holds the re-ranker's title vectors too (keyword search ignores them)
    SearchIndex(work / "index", synonyms=synonyms, reranker=semantic).rebuild(articles)
    print(f"{len(articles)} articles indexed in {time.perf_counter() - t0:.1f} s; {len(clean)} queries, "
          f"{args.folds} folds by thread; typo seed {args.seed}; synonyms: {args.synonyms or 'none'}")  # fmt: skip
    print("typo examples: " + " | ".join(q for q, _ in typo[:3]))

    def rank(weights: Weights, queries: Sequence[Query], reranker: object = None) -> dict[str, list[str]]:
        # a generous time limit: on a busy machine a cut-short query would make figures vary
        ix = SearchIndex(work / "index", cache_size=0, weights=weights, synonyms=synonyms, time_limit=30,
                         reranker=reranker)  # type: ignore[arg-type]  # fmt: skip
        try:
            return {q: [h.slug for h in ix.search(q, limit=DEPTH).hits] for q, _ in queries}
        finally:
            ix.close()

    folds = [[x for x in clean if fold_of(x[1], args.folds) == k] for k in range(args.folds)]
    typo_folds = [[x for x in typo if fold_of(x[1], args.folds) == k] for k in range(args.folds)]

    def report(label: str, weights: Weights, reranker: object = None) -> None:
        ranks = rank(weights, clean, reranker)
        ranks_typo = rank(weights, typo, reranker)
        print(f"\n{label}: {weights}" + (f"; re-ranker depth {reranker.depth} weight {reranker.weight}"  # type: ignore[attr-defined]
                                        if reranker is not None else ""))  # fmt: skip
        print(f"{'queries':14} {'n':>4} {'P@1':>7} {'MRR':>7} {'R@5':>7}   {'typo P@1':>8} {'MRR':>7} {'R@5':>7}"
              f"   {'ΔP@1':>6}")  # fmt: skip
        for name, qs, tq in [("all dev", clean, typo), *((f"fold {k}", folds[k], typo_folds[k]) for k in range(args.folds))]:
            m = evaluate_cli(evaluate, qs, ranks, work)
            t = evaluate_cli(evaluate, tq, ranks_typo, work)
            print(f"{name:14} {m['n']:4} {m['P@1']:7.4f} {m['MRR']:7.4f} {m['R@5']:7.4f}   {t['P@1']:8.4f} "
                  f"{t['MRR']:7.4f} {t['R@5']:7.4f}   {(t['P@1'] - m['P@1']) * 100:+6.1f}")  # fmt: skip

    report("defaults", Weights())
    if semantic is not None:
        report("defaults + SemanticReranker", Weights(), semantic)
    ix = SearchIndex(work / "index", cache_size=0, synonyms=synonyms, time_limit=30)
    answers = {q: ix.answer(q) for q, _ in clean}
    given = [(q, rel) for q, rel in clean if answers[q] is not None]
    right = sum(answers[q].slug in rel for q, rel in given)  # type: ignore[union-attr]
    print(f"\nanswer(): given for {len(given)}/{len(clean)} queries ({len(given) / len(clean):.1%}); "
          f"its article is a relevant one for {right}/{len(given)} ({right / max(1, len(given)):.1%})")  # fmt: skip
    if not args.tune:
        return
    if semantic is not None:
        tune_semantic(semantic, rank, ev, evaluate, work, folds, typo_folds)
        return

    def objective(weights: Weights, queries: Sequence[Query]) -> float:
        ranks = rank(weights, queries)
        m = ev.score([(q, set(rel)) for q, rel in queries], ranks, DEPTH)
        return float(m["P@1"] + m["R@5"])

    base = Weights()
    grid = [
        replace(base, field_saturation=fs, title_coverage=tc, coordination=c, same_title=st)
        for fs, tc, c, st in itertools.product((0.0, 0.25, 0.5, 0.75), (0.0, 0.5, 1.0, 1.5), (0.0, 0.25, 0.5), (1.0, 0.5))
    ]
    print(f"\ntuning: {len(grid)} grid points, chosen on the other folds, reported on the held-out one")
    scores = [[objective(w, fold + typo_folds[k]) for w in grid] for k, fold in enumerate(folds)]
    for k in range(args.folds):
        train = [sum(scores[j][i] for j in range(args.folds) if j != k) for i in range(len(grid))]
        best = max(range(len(grid)), key=train.__getitem__)
        w = grid[best]
        ranks = rank(w, folds[k])
        ranks_typo = rank(w, typo_folds[k])
        m = evaluate_cli(evaluate, folds[k], ranks, work)
        t = evaluate_cli(evaluate, typo_folds[k], ranks_typo, work)
        d = evaluate_cli(evaluate, folds[k], rank(base, folds[k]), work)
        print(f"fold {k}: tuned on the others → field_saturation={w.field_saturation} "
              f"title_coverage={w.title_coverage} coordination={w.coordination} same_title={w.same_title}; held-out P@1 {m['P@1']:.4f} "
              f"R@5 {m['R@5']:.4f} (typo P@1 {t['P@1']:.4f}); defaults there: P@1 {d['P@1']:.4f} R@5 {d['R@5']:.4f}")  # fmt: skip
    top = sorted(range(len(grid)), key=lambda i: -sum(s[i] for s in scores))[:5]
    for i in top:
        w = grid[i]
        per = " ".join(f"{s[i]:.3f}" for s in scores)
        print(f"  fs={w.field_saturation} tc={w.title_coverage} c={w.coordination} st={w.same_title}: P@1+R@5 per fold (clean+typo) {per}")


def tune_semantic(semantic, rank, ev, evaluate, work, folds, typo_folds) -> None:  # type: ignore[no-untyped-def]
    """k-fold choice of the re-ranker's depth and weight; held-out figures pooled over folds."""
    from selfservice.search.ranking import Weights

    grid = list(itertools.product((10, 20, 30, 50), (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)))
    base = Weights()
    k = len(folds)
    print(f"\ntuning the re-ranker: {len(grid)} (depth, weight) points, chosen on the other folds, "
          "reported on the held-out one")  # fmt: skip

    def ranked(point: tuple[int, float], queries: Sequence[Query]) -> dict[str, list[str]]:
        semantic.depth, semantic.weight = point
        return rank(base, queries, semantic)

    scores = []
    for j in range(k):
        both = folds[j] + typo_folds[j]
        row = []
        for point in grid:
            m = ev.score([(q, set(rel)) for q, rel in both], ranked(point, both), DEPTH)
            row.append(float(m["P@1"] + m["R@5"]))
        scores.append(row)
    held: dict[str, list[str]] = {}
    held_typo: dict[str, list[str]] = {}
    for j in range(k):
        train = [sum(scores[i][g] for i in range(k) if i != j) for g in range(len(grid))]
        point = grid[max(range(len(grid)), key=train.__getitem__)]
        held.update(ranked(point, folds[j]))
        held_typo.update(ranked(point, typo_folds[j]))
        m = evaluate_cli(evaluate, folds[j], held, work)
        t = evaluate_cli(evaluate, typo_folds[j], held_typo, work)
        print(f"fold {j}: chosen on the others → depth {point[0]} weight {point[1]}; held-out P@1 {m['P@1']:.4f} "
              f"MRR {m['MRR']:.4f} R@5 {m['R@5']:.4f} (typo P@1 {t['P@1']:.4f} R@5 {t['R@5']:.4f})")  # fmt: skip
    every = [x for f in folds for x in f]
    every_typo = [x for f in typo_folds for x in f]
    m = evaluate_cli(evaluate, every, held, work)
    t = evaluate_cli(evaluate, every_typo, held_typo, work)
    print(f"cross-validated (each fold with the point chosen on the others), n={m['n']}: P@1 {m['P@1']:.4f} "
          f"MRR {m['MRR']:.4f} R@5 {m['R@5']:.4f}; typo P@1 {t['P@1']:.4f} R@5 {t['R@5']:.4f} "
          f"(ΔP@1 {(t['P@1'] - m['P@1']) * 100:+.1f})")  # fmt: skip
    top = sorted(range(len(grid)), key=lambda g: -sum(s[g] for s in scores))[:6]
    for g in top:
        print(f"  depth={grid[g][0]} weight={grid[g][1]}: P@1+R@5 per fold (clean+typo) "
              + " ".join(f"{s[g]:.3f}" for s in scores))


if __name__ == "__main__":
    main()
