"""Ranking: BM25F over the text fields, term at a time, with a per-generation term cache.

Why not whoosh's matchers: they score one posting at a time through a tree of Python objects
(about 7 µs a posting, 20 ms for a three-word query over 3.6k articles). Here each term's
postings are read a block at a time, combined across fields and turned into one score per
document (an *impact*) with numpy, then cached for the generation: the words customers use
repeat, so most queries only add up cached impacts. A query adds them up in arrays of one
entry per document (240 KB at 30k articles), so its cost hardly depends on how many
documents match: no Python step runs once per matching document. (In dicts, the sums and
the choice of the page took half of a typical query's time.)

Scoring is BM25F: a term's frequency in each field is weighted by that field's boost and
normalised by the field's length (``b`` per field), summed, then saturated once (``k1``) and
multiplied by the term's idf — so a word in both the title and the body counts more than in
either, but not twice — blended with per-field saturation (:class:`Weights`). Clause scores
add up. Phrases are checked with whoosh's positional matcher and score the sum of their
terms' impacts, times ``Weights.phrase``. A second pass over the documents that can still
make the page rewards titles that hold the query's words (idf-weighted coverage), optionally
matched-clause coordination, and spreads out articles sharing one title.

Everything here reads through the caller's reader: whoosh readers seek in their files and are
not shared between threads; the caches hold arrays nobody modifies, and are.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from whoosh.query import Phrase as PhraseQuery
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from .postings import Postings, group_keys, length_bytes
from .query import ClausePlan, Option, Plan
from .schema import PHRASE_FIELDS, SEARCH_FIELDS

__all__ = ["OutOfTime", "Ranked", "Ranker", "Weights", "phrase_docs"]

#: Fields whose words say what an article is about (its name): see ``Weights.title_coverage``.
TITLE_FIELDS = ("title", "keywords")
_CACHE_POSTINGS = 3_000_000  # cached (document, impact) pairs per generation: 24 MB
_CACHE_FILTERS = 256
_SPREAD_EXTRA = 20


@dataclass(frozen=True, slots=True)
class Weights:
    """The ranking's knobs; the defaults were chosen by k-fold runs of ``benchmarks/search_quality.py``.

    ``boosts`` and ``b`` are per-field BM25F weights and length normalisation (short fields
    are hardly normalised). ``field_saturation`` blends two ways of adding fields up: 0 is pure
    BM25F (a term's weighted frequencies summed over fields, then saturated once: robust to
    long bodies), 1 saturates each field on its own and adds them (a title match then counts on
    top of any number of body matches: sharper first results). ``coordination`` favours
    documents matching more of the query's clauses, ``title_coverage`` those whose title or
    keywords hold more of the query (weighted by idf) — the second pass over the candidates.
    """

    boosts: Mapping[str, float] = field(
        default_factory=lambda: {"title": 3.0, "keywords": 2.5, "headings": 1.5, "summary": 1.5, "body": 1.0}
    )
    b: Mapping[str, float] = field(
        default_factory=lambda: {"title": 0.5, "keywords": 0.3, "headings": 0.5, "summary": 0.5, "body": 0.75}
    )
    k1: float = 1.2
    field_saturation: float = 0.25
    coordination: float = 0.0
    title_coverage: float = 1.0
    phrase: float = 1.5
    same_title: float = 0.5


class OutOfTime(Exception):
    """A term's scores were not finished before the search's deadline (nothing was kept)."""


class Ranked(NamedTuple):
    """What :meth:`Ranker.rank` found: every matching document (ascending), and the page."""

    matches: NDArray[np.intp]
    top: list[tuple[int, float]]
    complete: bool

    @property
    def total(self) -> int:
        return len(self.matches)

    @classmethod
    def nothing(cls) -> Ranked:
        """No match (and nothing left to do)."""
        return cls(np.zeros(0, dtype=np.intp), [], True)


Ids = NDArray[np.int32]
Scores = NDArray[np.float64]
Mask = NDArray[np.bool_]
_NO_IDS: Ids = np.zeros(0, dtype=np.int32)
_NO_SCORES: NDArray[np.float32] = np.zeros(0, dtype=np.float32)


class _Term:
    """What one term contributes: its score per document, its idf, where it is in a title.

    Scores are kept as two arrays (8 bytes a document, where a dict takes about 100): at 30k
    articles the terms of a few hundred queries then fit in a few tens of MB.
    """

    __slots__ = ("ids", "values", "idf", "titled")

    def __init__(self, ids: Ids, values: NDArray[np.float32], idf: float, titled: Ids) -> None:
        for shared in (ids, values, titled):  # cached for every thread: nobody may change them
            shared.flags.writeable = False
        self.ids, self.values = ids, values
        self.idf, self.titled = idf, titled

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def scores(self) -> dict[int, float]:
        """Document → score, as a dict."""
        return dict(zip(self.ids.tolist(), self.values.tolist()))


class Ranker:
    """Scores plans for one index generation; shared by the threads searching it."""

    def __init__(self, doc_count: int, weights: Weights | None = None) -> None:
        self.n = max(doc_count, 1)
        self.weights = weights or Weights()
        self._norms: dict[str, NDArray[np.float64]] = {}
        self._reads = Postings()
        self._filters: dict[tuple[tuple[str, str], ...], frozenset[int]] = {}
        self._masks: dict[frozenset[int], Mask] = {}
        self._terms: OrderedDict[str, _Term] = OrderedDict()
        self._groups: list[int] | None = None
        self._cached = 0
        self._lock = threading.Lock()

    # -- per-generation data ------------------------------------------------------------------
    def norms(self, reader: IndexReader, name: str) -> NDArray[np.float64]:
        """Per document: 1 − b + b · length / average length, for one field."""
        norms = self._norms.get(name)
        if norms is None:
            b = self.weights.b[name]
            total = reader.doc_count_all()
            avg = (reader.field_length(name) / total) if total else 1.0
            avg = avg or 1.0
            table = np.array([1.0 - b + b * byte_to_length(i) / avg for i in range(256)])  # lengths are stored as a byte
            norms = table[np.frombuffer(length_bytes(reader, name), dtype=np.uint8)]
            self._norms[name] = norms
        return norms

    def groups(self, reader: IndexReader) -> list[int]:
        """Per document, its :func:`~.schema.title_group` key."""
        groups = self._groups
        if groups is None:
            groups = self._groups = group_keys(reader)
        return groups

    def postings(self, reader: IndexReader, field: str, term: str) -> Iterable[tuple[Sequence[int], Sequence[float]]]:
        """(document numbers, weights) of ``term`` in ``field``, a block at a time, all segments."""
        return self._reads(reader, field, term)

    def impacts(self, reader: IndexReader, term: str, deadline: float = math.inf) -> dict[int, float]:
        """BM25F score of ``term`` per document that has it (deleted documents left out)."""
        return self.term(reader, term, deadline).scores

    def term(self, reader: IndexReader, term: str, deadline: float = math.inf) -> _Term:
        """Scores, idf and title documents of ``term``, computed once per generation.

        Past ``deadline`` (checked after each block of postings) it raises :class:`OutOfTime`
        and keeps nothing: at 30k articles one common word takes milliseconds.
        """
        with self._lock:
            cached = self._terms.get(term)
            if cached is not None:
                self._terms.move_to_end(term)
                return cached
        w = self.weights
        k1 = w.k1
        mix = w.field_saturation
        titled: list[Ids] = []  # documents with the term in a title field
        per_field: list[tuple[float, Ids, NDArray[np.float64]]] = []  # (boost, documents, normalised tf)
        df = 0
        live = self._reads.live(reader)
        for name in SEARCH_FIELDS:  # (a term missing from a field costs one failed lookup)
            parts: list[tuple[Sequence[int], Sequence[float], int]] = []
            for part in self._reads.blocks(reader, name, term):
                parts.append(part)
                if time.perf_counter() > deadline:
                    raise OutOfTime(term)
            if not parts:
                continue
            docs, tf = _arrays(parts)
            if live is not None:
                keep = live[docs]
                docs, tf = docs[keep], tf[keep]
                if not len(docs):
                    continue
            per_field.append((w.boosts[name], docs, tf / self.norms(reader, name)[docs]))
            df = max(df, len(docs))
            if name in TITLE_FIELDS:
                titled.append(docs)
        idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
        if not per_field:
            entry = _Term(_NO_IDS, _NO_SCORES, idf, _NO_IDS)
        else:
            # BM25F: x = Σ boost · tf (per field, length-normalised), saturated once; blended
            # with Σ boost · saturated tf. Most terms are in one field only (the body).
            if len(per_field) == 1:
                boost, docs, v = per_field[0]
                x = boost * v
                sat = x / (v + k1)
            else:
                size = reader.doc_count_all()
                x_all, sat_all = np.zeros(size), np.zeros(size)
                present = np.zeros(size, dtype=np.bool_)
                for boost, field_docs, v in per_field:  # a field holds a document once: no repeated ids
                    x_all[field_docs] += boost * v
                    sat_all[field_docs] += boost * v / (v + k1)
                    present[field_docs] = True
                docs = np.flatnonzero(present).astype(np.int32)
                x, sat = x_all[docs], sat_all[docs]
            scores = idf * (k1 + 1.0) * ((1.0 - mix) * x / (x + k1) + mix * sat)
            named = np.unique(np.concatenate(titled)) if len(titled) > 1 else titled[0] if titled else _NO_IDS
            entry = _Term(docs, scores.astype(np.float32), idf, named)
        with self._lock:
            if term not in self._terms:
                self._terms[term] = entry
                self._cached += len(entry)
                while self._cached > _CACHE_POSTINGS and len(self._terms) > 1:
                    _, old = self._terms.popitem(last=False)
                    self._cached -= len(old)
        return entry

    # -- scoring ------------------------------------------------------------------------------
    def option_scores(
        self, searcher: Searcher, option: Option, deadline: float = math.inf
    ) -> tuple[Ids, NDArray[np.floating[Any]]]:
        """(documents, scores) of one option: a term's scores, or a phrase's where it is one."""
        reader = searcher.reader()
        if len(option.terms) == 1:
            t = self.term(reader, option.terms[0], deadline)
            return t.ids, t.values if option.weight == 1.0 else t.values * option.weight
        terms = [self.term(reader, t, deadline) for t in option.terms]
        if any(not t for t in terms):
            return _NO_IDS, _NO_SCORES
        docs = phrase_docs(searcher, option.terms)
        if not docs:
            return _NO_IDS, _NO_SCORES
        total = np.zeros(reader.doc_count_all())
        for t in terms:
            total[t.ids] += t.values
        ids = np.fromiter(sorted(docs), dtype=np.int32, count=len(docs))
        scores = total[ids]
        live = scores > 0  # (a deleted document's positions may still be read)
        return ids[live], scores[live] * (option.weight * self.weights.phrase)

    def clause_scores(self, searcher: Searcher, clause: ClausePlan) -> dict[int, float]:
        """A document's best option for this clause."""
        best, hit, _ = self._clause(searcher, clause, math.inf, first=True)
        ids = np.flatnonzero(hit)
        return dict(zip(ids.tolist(), best[ids].tolist()))

    def _clause(
        self, searcher: Searcher, clause: ClausePlan, deadline: float, *, first: bool
    ) -> tuple[Scores, Mask, int]:
        """The best score of each document over the options scored before ``deadline``, which
        documents matched one, and how many options those were (dense arrays, one entry a
        document).

        ``first``: the clause's first option is scored whatever the time (the search's first
        clause, so that a search always finds something)."""
        size = searcher.reader().doc_count_all()
        best = np.zeros(size)
        hit = np.zeros(size, dtype=np.bool_)
        for i, option in enumerate(clause.options):
            if (i or not first) and time.perf_counter() > deadline:
                return best, hit, i
            try:
                ids, scores = self.option_scores(searcher, option, math.inf if first and not i else deadline)
            except OutOfTime:
                return best, hit, i
            if i:
                best[ids] = np.maximum(best[ids], scores)  # an option holds a document once
            else:
                best[ids] = scores
            hit[ids] = True
        return best, hit, len(clause.options)

    def clause_titles(self, reader: IndexReader, clause: ClausePlan) -> tuple[float, list[tuple[Ids, float]]]:
        """The clause's idf (its first option's) and, per option, the documents naming it in a
        title (ascending)."""
        idf = 0.0
        options: list[tuple[Ids, float]] = []
        for i, option in enumerate(clause.options):
            terms = [self.term(reader, t) for t in option.terms]
            if i == 0:
                idf = sum(t.idf for t in terms)
            named = terms[0].titled if terms else _NO_IDS
            for other in terms[1:]:
                named = np.intersect1d(named, other.titled, assume_unique=True)
            if len(named):
                options.append((named, option.weight))
        return idf, options

    def allowed(self, reader: IndexReader, filters: Sequence[tuple[str, str]]) -> frozenset[int] | None:
        """Documents that pass every ``(field, value)`` filter (None: no filter), cached."""
        if not filters:
            return None
        key = tuple(sorted(filters))
        with self._lock:
            cached = self._filters.get(key)
        if cached is not None:
            return cached
        docs: set[int] | None = None
        for name, value in key:
            found: set[int] = set()
            for ids, _ in self._reads(reader, name, value):
                found.update(ids)
            docs = found if docs is None else docs & found
        result = frozenset(docs or ())
        with self._lock:
            if len(self._filters) >= _CACHE_FILTERS:
                self._filters.clear()
            self._filters[key] = result
        return result

    def _mask(self, size: int, docs: frozenset[int]) -> Mask:
        """``docs`` as one flag per document, cached (filters and languages repeat)."""
        with self._lock:
            mask = self._masks.get(docs)
        if mask is None:
            mask = np.zeros(size, dtype=np.bool_)
            mask[np.fromiter(docs, dtype=np.int64, count=len(docs))] = True
            mask.flags.writeable = False
            with self._lock:
                if len(self._masks) >= _CACHE_FILTERS:
                    self._masks.clear()
                self._masks[docs] = mask
        return mask

    def rank(
        self, searcher: Searcher, plan: Plan, allowed: frozenset[int] | None, deadline: float, k: int
    ) -> Ranked:
        """Every match, the best ``k`` as (document, score), and whether time sufficed.

        When time runs out (checked between clauses, between options and inside a term's
        postings), what was scored so far decides (partial results); the first option of the
        first clause is always scored whole.
        """
        size = searcher.reader().doc_count_all()
        total = np.zeros(size)
        hit = np.zeros(size, dtype=np.bool_)
        matched = np.zeros(size, dtype=np.int32)  # clauses each document matched
        scored: list[ClausePlan] = []  # what was scored: the second pass looks at nothing else
        complete = True
        for i, clause in enumerate(plan.clauses):
            best, found, done = self._clause(searcher, clause, deadline, first=not i)  # checks the time
            if done < len(clause.options):
                complete = False
                if not done:
                    break
                clause = ClausePlan(clause.options[:done])
            total += best
            hit |= found
            matched += found
            scored.append(clause)
            if not complete:
                break
        for clause in plan.exclude:
            hit &= ~self._clause(searcher, clause, math.inf, first=True)[1]
        if allowed is not None:
            hit &= self._mask(size, allowed)
        docs = np.flatnonzero(hit)
        if k <= 0 or not len(docs):
            return Ranked(docs, [], complete)
        top = self._second_pass(searcher.reader(), scored, matched, hit, docs, total, k)
        return Ranked(docs, top, complete)

    def _second_pass(
        self, reader: IndexReader, clauses: list[ClausePlan], matched: NDArray[np.int32], hit: Mask,
        docs: NDArray[np.intp], total: Scores, k: int,
    ) -> list[tuple[int, float]]:
        """Rescore the documents that can still reach the top ``k``: coordination and title coverage.

        ``docs`` are the matches (``hit``: the same, one flag a document), ``total`` holds the
        first-pass (raw) scores and ``matched`` how many clauses each document matched. The final score is
        raw × (1 − c + c · matched clauses / clauses) × (1 + t · coverage).
        Coverage only raises the few documents naming query words in a title; everyone else
        keeps their raw score, so the top ``k`` is among the best raw scores plus those few.
        Coordination can only lower a score (by at most ``low``): documents whose raw score
        is below the k-th best × ``low`` cannot make the top ``k`` and are not rescored.
        """
        w = self.weights
        n = len(clauses)
        c = w.coordination if n > 1 else 0.0
        t = w.title_coverage
        raw = total[docs]
        pool = k + _SPREAD_EXTRA
        while True:
            top, bound = self._rescore(reader, clauses, matched, hit, docs, total, raw, k, pool, c, t)
            # Matches not rescored name no query word in a title: their final score is at most
            # their raw score, at most ``bound``. If one could beat the k-th (spreading lowers
            # scores), look wider.
            if bound is None or (len(top) == k and top[-1][1] > bound):
                return top
            pool *= 4

    def _rescore(
        self, reader: IndexReader, clauses: list[ClausePlan], matched: NDArray[np.int32], hit: Mask,
        docs: NDArray[np.intp], total: Scores, raw: Scores, k: int, pool: int, c: float, t: float,
    ) -> tuple[list[tuple[int, float]], float | None]:
        """The spread top ``k`` of the candidates (the best ``pool`` raw scores, or with
        coordination those above its threshold, plus every match naming a query word in a
        title), and the highest raw score a match left out can have (None: none left out)."""
        w = self.weights
        n = len(clauses)
        bound: float | None = None
        if c and pool == k + _SPREAD_EXTRA:
            kth = np.partition(raw, len(raw) - k)[len(raw) - k] if len(raw) > k else raw.min()
            floor = kth * (1.0 - c + c / n) / (1.0 + t)
            inside = raw >= floor
            candidates = docs[inside]
            if len(candidates) < len(docs):
                bound = float(floor)
        else:
            pick = _best_indexes(raw, pool)
            candidates = np.sort(docs[pick])  # ascending, as docs
            if len(pick) < len(docs):
                bound = float(raw[pick].min())
        final = total[candidates]
        if t:
            titles = [self.clause_titles(reader, clause) for clause in clauses]
            total_idf = sum(idf for idf, _ in titles) or 1.0
            covered: Scores | None = None  # Σ over clauses: idf × its best option's weight
            for idf, options in titles:
                if not options:
                    continue
                if covered is None:
                    covered = np.zeros(len(total))
                best = np.zeros(len(total))
                for named, weight in options:
                    best[named] = np.maximum(best[named], weight)
                covered += idf * best
            if covered is not None:
                keep = (covered > 0) & hit  # a title alone does not make a match
                keep[candidates] = True
                candidates = np.flatnonzero(keep)  # (a sorted union without sorting thousands)
                final = total[candidates] * (1.0 + (t / total_idf) * covered[candidates])
        if c:
            final = final * (1.0 - c + c * matched[candidates] / n)
        return self._spread(reader, candidates, final, k), bound

    def _spread(self, reader: IndexReader, docs: NDArray[np.intp], scores: Scores, k: int) -> list[tuple[int, float]]:
        """The best ``k`` of ``docs`` by ``scores``, with articles sharing a title lowered
        (``Weights.same_title``: the second of a title × same_title, the third × its square…).

        Exact, and usually cheap: the best k + :data:`_SPREAD_EXTRA` are spread first, in
        order; lowering only ever lowers, so once the k-th spread score beats every score not
        looked at, nothing further down can get in. Otherwise (a title with many articles
        at the top: FAQ threads with a dozen answers) four times as many are looked at, and so
        on: a fixed window let such a title's lowered copies keep better articles out.
        """
        same = self.weights.same_title
        n = k if same >= 1.0 else k + _SPREAD_EXTRA
        groups = self.groups(reader) if same < 1.0 else None
        while True:
            best = _best_indexes(scores, n)
            order = sorted(zip(docs[best].tolist(), scores[best].tolist()), key=_best, reverse=True)
            if groups is None or len(order) < 2:
                return order[:k]
            seen: dict[int, int] = {}
            spread = []
            for d, s in order:
                g = groups[d]
                count = seen.get(g, 0)
                seen[g] = count + 1
                spread.append((d, s * same**count))
            top = heapq.nlargest(k, spread, key=_best)
            if len(order) == len(scores) or (len(top) == k and top[-1][1] > order[-1][1]):
                return top
            n *= 4


def _best(item: tuple[int, float]) -> tuple[float, int]:
    return item[1], -item[0]  # ties: the older document first, so paging is stable


def _best_indexes(raw: Scores, n: int) -> NDArray[np.intp]:
    """Positions of the ``n`` best scores (ties: the earlier position, which is the older
    document: documents ascend), in no order."""
    if len(raw) <= n:
        return np.arange(len(raw))
    cut = np.partition(raw, len(raw) - n)[len(raw) - n]  # the n-th best score
    above = np.flatnonzero(raw > cut)
    tied = np.flatnonzero(raw == cut)[: n - len(above)]  # docs ascend: the older ones first
    return np.concatenate([above, tied])


def _arrays(parts: list[tuple[Sequence[int], Sequence[float], int]]) -> tuple[Ids, NDArray[np.float64]]:
    """Blocks of postings (segment's document numbers, weights, segment offset) as two arrays."""
    if len(parts) == 1:
        ids, weights, offset = parts[0]
        docs = np.array(ids, dtype=np.int32)
        return (docs + offset if offset else docs), np.array(weights, dtype=np.float64)
    docs = np.concatenate([np.array(ids, dtype=np.int32) + offset for ids, _, offset in parts])
    return docs, np.concatenate([np.array(weights, dtype=np.float64) for _, weights, _ in parts])


def phrase_docs(searcher: Searcher, terms: Sequence[str]) -> set[int]:
    """Documents where ``terms`` appear next to each other in one of the positional fields."""
    reader = searcher.reader()
    found: set[int] = set()
    for field in PHRASE_FIELDS:
        if all(reader.doc_frequency(field, t) for t in terms):
            matcher = PhraseQuery(field, list(terms)).matcher(searcher)
            found.update(matcher.all_ids())
    return found
