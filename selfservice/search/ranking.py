"""Ranking: BM25F over the text fields, term at a time, with a per-generation term cache.

Why not whoosh's matchers: they score one posting at a time through a tree of Python objects
(about 7 µs a posting, 20 ms for a three-word query over 3.6k articles). Here each term's
postings are read a block at a time, combined across fields and turned into one score per
document (an *impact*) in a tight loop, then cached for the generation: the words customers
use repeat, so most queries only add up cached impacts.

Scoring is BM25F: a term's frequency in each field is weighted by that field's boost and
normalised by the field's length (``b`` per field), summed, then saturated once (``k1``) and
multiplied by the term's idf — so a word in both the title and the body counts more than in
either, but not twice — blended with per-field saturation (:class:`Weights`). Clause scores
add up. Phrases are checked with whoosh's positional matcher and score the sum of their
terms' impacts, times ``Weights.phrase``. A second pass over the documents that can still
make the page rewards titles that hold the query's words (idf-weighted coverage), optionally
matched-clause coordination, and spreads out articles sharing one title.

Everything here reads through the caller's reader: whoosh readers seek in their files and are
not shared between threads; the caches hold plain numbers and are.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

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
    """What :meth:`Ranker.rank` found: every match with its first-pass score, and the page."""

    matches: dict[int, float]
    top: list[tuple[int, float]]
    complete: bool

    @property
    def total(self) -> int:
        return len(self.matches)


class _Term:
    """What one term contributes: its score per document, its idf, where it is in a title.

    Scores are kept as two arrays (8 bytes a document, where a dict takes about 100): at 30k
    articles the terms of a few hundred queries then fit in a few tens of MB. ``scores``
    makes the dict a query adds up, in one C-level call.
    """

    __slots__ = ("ids", "values", "idf", "titled")

    def __init__(self, scores: dict[int, float], idf: float, titled: frozenset[int]) -> None:
        self.ids = array("i", scores.keys())
        self.values = array("f", scores.values())
        self.idf, self.titled = idf, titled

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def scores(self) -> dict[int, float]:
        return dict(zip(self.ids, self.values))


class Ranker:
    """Scores plans for one index generation; shared by the threads searching it."""

    def __init__(self, doc_count: int, weights: Weights | None = None) -> None:
        self.n = max(doc_count, 1)
        self.weights = weights or Weights()
        self._norms: dict[str, list[float]] = {}
        self._reads = Postings()
        self._filters: dict[tuple[tuple[str, str], ...], frozenset[int]] = {}
        self._terms: OrderedDict[str, _Term] = OrderedDict()
        self._groups: list[int] | None = None
        self._cached = 0
        self._lock = threading.Lock()

    # -- per-generation data ------------------------------------------------------------------
    def norms(self, reader: IndexReader, name: str) -> list[float]:
        """Per document: 1 − b + b · length / average length, for one field."""
        norms = self._norms.get(name)
        if norms is None:
            b = self.weights.b[name]
            total = reader.doc_count_all()
            avg = (reader.field_length(name) / total) if total else 1.0
            avg = avg or 1.0
            table = [1.0 - b + b * byte_to_length(i) / avg for i in range(256)]  # lengths are stored as a byte
            norms = [table[i] for i in length_bytes(reader, name)]
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
        and keeps nothing: at 30k articles one common word takes tens of milliseconds.
        """
        with self._lock:
            cached = self._terms.get(term)
            if cached is not None:
                self._terms.move_to_end(term)
                return cached
        w = self.weights
        k1 = w.k1
        mix = w.field_saturation
        titled: set[int] = set()
        per_field: list[tuple[float, dict[int, float]]] = []  # (boost, document → length-normalised tf)
        df = 0
        for name in SEARCH_FIELDS:  # (a term missing from a field costs one failed lookup)
            norms = self.norms(reader, name)
            found: dict[int, float] = {}
            for ids, weights in self._reads(reader, name, term):
                found.update(zip(ids, [x / norms[d] for d, x in zip(ids, weights)]))
                if time.perf_counter() > deadline:
                    raise OutOfTime(term)
            if found:
                per_field.append((w.boosts[name], found))
                df = max(df, len(found))
                if name in TITLE_FIELDS:
                    titled.update(found)
        idf = math.log(1.0 + (self.n - df + 0.5) / (df + 0.5))
        scale = idf * (k1 + 1.0)
        scores: dict[int, float] = {}
        if per_field:
            # Documents that have the term in the biggest field only (most of them: the body)
            # are scored in one comprehension; the few in other fields are then redone whole.
            per_field.sort(key=lambda bf: len(bf[1]), reverse=True)
            boost, found = per_field[0]
            c1, c2 = scale * (1.0 - mix) * boost, scale * mix * boost
            scores = {d: c1 * v / (boost * v + k1) + c2 * v / (v + k1) for d, v in found.items()}
            if len(per_field) > 1:
                redo: set[int] = set()
                for _, other in per_field[1:]:
                    redo.update(other)
                for d in redo:
                    x = sat = 0.0
                    for boost, values in per_field:
                        v = values.get(d)
                        if v is not None:
                            x += boost * v
                            sat += boost * v / (v + k1)
                    scores[d] = scale * ((1.0 - mix) * x / (x + k1) + mix * sat)
        entry = _Term(scores, idf, frozenset(titled))
        with self._lock:
            if term not in self._terms:
                self._terms[term] = entry
                self._cached += len(entry)
                while self._cached > _CACHE_POSTINGS and len(self._terms) > 1:
                    _, old = self._terms.popitem(last=False)
                    self._cached -= len(old)
        return entry

    # -- scoring ------------------------------------------------------------------------------
    def option_scores(self, searcher: Searcher, option: Option, deadline: float = math.inf) -> dict[int, float]:
        reader = searcher.reader()
        if len(option.terms) == 1:
            scores = self.impacts(reader, option.terms[0], deadline)
            return scores if option.weight == 1.0 else {d: s * option.weight for d, s in scores.items()}
        impacts = [self.impacts(reader, t, deadline) for t in option.terms]
        if any(not i for i in impacts):
            return {}
        weight = option.weight * self.weights.phrase
        return {d: weight * sum(i.get(d, 0.0) for i in impacts) for d in phrase_docs(searcher, option.terms)}

    def clause_scores(self, searcher: Searcher, clause: ClausePlan) -> dict[int, float]:
        """A document's best option for this clause."""
        return self._clause(searcher, clause, math.inf, first=True)[0]

    def _clause(
        self, searcher: Searcher, clause: ClausePlan, deadline: float, *, first: bool
    ) -> tuple[dict[int, float], int]:
        """:meth:`clause_scores` of the options scored before ``deadline``, and how many those were.

        ``first``: the clause's first option is scored whatever the time (the search's first
        clause, so that a search always finds something)."""
        best: dict[int, float] | None = None
        for i, option in enumerate(clause.options):
            if (i or not first) and time.perf_counter() > deadline:
                return best or {}, i
            try:
                scores = self.option_scores(searcher, option, math.inf if first and not i else deadline)
            except OutOfTime:
                return best or {}, i
            if best is None:
                best = scores
                continue
            if best is scores or not scores:
                continue
            if len(best) < len(scores):
                best, scores = dict(scores), best
            else:
                best = dict(best)
            for d, s in scores.items():
                if s > best.get(d, 0.0):
                    best[d] = s
        return best or {}, len(clause.options)

    def clause_titles(self, reader: IndexReader, clause: ClausePlan) -> tuple[float, list[tuple[frozenset[int], float]]]:
        """The clause's idf (its first option's) and, per option, the documents naming it in a title."""
        idf = 0.0
        options: list[tuple[frozenset[int], float]] = []
        for i, option in enumerate(clause.options):
            terms = [self.term(reader, t) for t in option.terms]
            if i == 0:
                idf = sum(t.idf for t in terms)
            titled = terms[0].titled.intersection(*(t.titled for t in terms[1:])) if terms else frozenset()
            if titled:
                options.append((titled, option.weight))
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

    def rank(
        self, searcher: Searcher, plan: Plan, allowed: frozenset[int] | None, deadline: float, k: int
    ) -> Ranked:
        """Every match, the best ``k`` as (document, score), and whether time sufficed.

        When time runs out (checked between clauses, between options and inside a term's
        postings), what was scored so far decides (partial results); the first option of the
        first clause is always scored whole.
        """
        per_clause: list[dict[int, float]] = []
        scored: list[ClausePlan] = []  # what was scored: the second pass looks at nothing else
        complete = True
        for i, clause in enumerate(plan.clauses):
            scores, done = self._clause(searcher, clause, deadline, first=not i)  # checks the time
            if done < len(clause.options):
                complete = False
                if done:
                    per_clause.append(scores)
                    scored.append(ClausePlan(clause.options[:done]))
                break
            per_clause.append(scores)
            scored.append(clause)
        raw = _sum(per_clause)
        excluded: set[int] = set()
        for clause in plan.exclude:
            excluded.update(self.clause_scores(searcher, clause))
        if excluded or allowed is not None:
            raw = {d: s for d, s in raw.items() if d not in excluded and (allowed is None or d in allowed)}
        if k <= 0 or not raw:
            return Ranked(raw, [], complete)
        top = self._second_pass(searcher.reader(), scored, per_clause, raw, k)
        return Ranked(raw, top, complete)

    def _second_pass(
        self, reader: IndexReader, clauses: list[ClausePlan], per_clause: list[dict[int, float]],
        raw: dict[int, float], k: int,
    ) -> list[tuple[int, float]]:
        """Rescore the documents that can still reach the top ``k``: coordination and title coverage.

        The final score is raw × (1 − c + c · matched clauses / clauses) × (1 + t · coverage).
        Coverage only raises the few documents naming query words in a title; everyone else
        keeps their raw score, so the top ``k`` is among the best raw scores plus those few.
        Coordination can only lower a score (by at most ``low``): documents whose raw score
        is below the k-th best × ``low`` cannot make the top ``k`` and are not rescored.
        """
        w = self.weights
        n = len(per_clause)
        c = w.coordination if n > 1 else 0.0
        t = w.title_coverage
        extra = k + _SPREAD_EXTRA
        scores: dict[int, float] = dict(heapq.nlargest(extra, raw.items(), key=itemgetter(1)))
        if c:
            low = 1.0 - c + c / n
            floor = heapq.nlargest(k, raw.values())[-1] * low / (1.0 + t)
            scores = {d: s for d, s in raw.items() if s >= floor}
        if t:
            titles = [self.clause_titles(reader, clause) for clause in clauses]
            total_idf = sum(idf for idf, _ in titles) or 1.0
            covered: dict[int, float] = {}
            for idf, options in titles:
                best: dict[int, float] = {}
                for docs, weight in options:
                    for d in docs:
                        if weight > best.get(d, 0.0):
                            best[d] = weight
                for d, weight in best.items():
                    covered[d] = covered.get(d, 0.0) + idf * weight
            scale = t / total_idf
            scores.update((d, raw[d] * (1.0 + scale * x)) for d, x in covered.items() if d in raw)
        if c:
            scores = {d: s * (1.0 - c + c * sum(d in m for m in per_clause) / n) for d, s in scores.items()}
        return self._spread(reader, scores.items(), k)

    def _spread(self, reader: IndexReader, candidates: Iterable[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """The best ``k``, with articles sharing a title lowered (``Weights.same_title``).

        Only the best k + :data:`_SPREAD_EXTRA` are looked at: a document further down would
        need several lowered ones above it to get in.
        """
        order = heapq.nlargest(k + (_SPREAD_EXTRA if self.weights.same_title < 1.0 else 0), candidates, key=_best)
        if self.weights.same_title >= 1.0 or len(order) < 2:
            return order
        groups = self.groups(reader)
        seen: dict[int, int] = {}
        spread = []
        for d, s in order:
            g = groups[d]
            count = seen.get(g, 0)
            seen[g] = count + 1
            spread.append((d, s * self.weights.same_title**count))
        return heapq.nlargest(k, spread, key=_best)


def _best(item: tuple[int, float]) -> tuple[float, int]:
    return item[1], -item[0]  # ties: the older document first, so paging is stable


def _sum(maps: list[dict[int, float]]) -> dict[int, float]:
    """Per-document sums; never modifies the (possibly cached) inputs."""
    if not maps:
        return {}
    if len(maps) == 1:
        return maps[0]
    maps = sorted(maps, key=len, reverse=True)
    total = dict(maps[0])
    for m in maps[1:]:
        get = total.get
        total.update({d: get(d, 0.0) + s for d, s in m.items()})
    return total


def phrase_docs(searcher: Searcher, terms: Sequence[str]) -> set[int]:
    """Documents where ``terms`` appear next to each other in one of the positional fields."""
    reader = searcher.reader()
    found: set[int] = set()
    for field in PHRASE_FIELDS:
        if all(reader.doc_frequency(field, t) for t in terms):
            matcher = PhraseQuery(field, list(terms)).matcher(searcher)
            found.update(matcher.all_ids())
    return found
