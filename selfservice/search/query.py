"""Turning a :class:`~selfservice.search.grammar.ParsedQuery` into a bounded search plan.

A plan is a list of clauses; a clause is a list of options, and a document's score for a
clause is its best option's score (so ``login`` and its synonym ``sign in`` do not add up);
clause scores add up (:mod:`.ranking`). An option is one term, or several that must form a
phrase. Everything that could grow with the index is capped here: a prefix expands to at most
:data:`MAX_EXPANSIONS` of its most frequent words (:data:`EXPANSION_BUDGET` for the whole
query), a typo to at most three corrections, a synonym list to what was configured.

The builder also reports what it learned on the way: which words exist nowhere in the index
(candidates for typo correction) and which terms to highlight in snippets.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from whoosh.reading import IndexReader

from ..errors import SearchError
from .grammar import AnyOf, Clause, ParsedQuery, Phrase, Word
from .schema import SEARCH_FIELDS, Analyzer

__all__ = [
    "EXPANSION_BUDGET",
    "MAX_EXPANSIONS",
    "PREFIX_NOTE",
    "ClausePlan",
    "Option",
    "Plan",
    "PlanBuilder",
    "load_synonyms",
    "normalize_synonyms",
]

SYNONYM_WEIGHT = 0.7  # a synonym is weaker evidence than the word typed
CORRECTION_WEIGHT = 0.8  # so is a corrected typo
PREFIX_WEIGHT = 0.9  # and a word the customer did not finish
MAX_EXPANSIONS = 24  # words one prefix may expand to (the most frequent ones)
EXPANSION_BUDGET = 64  # words all the prefixes of one query may expand to together
_PREFIX_SCAN = 4000  # vocabulary entries read per prefix before choosing the most frequent
PREFIX_NOTE = "Words ending in * were searched with their most common completions only."


def normalize_synonyms(synonyms: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    """Lowercase keys and alternatives; one word or several (``"sign in": ["log in"]``)."""
    out: dict[str, tuple[str, ...]] = {}
    for key, values in (synonyms or {}).items():
        k = " ".join(key.lower().split())
        alts = tuple(dict.fromkeys(" ".join(v.lower().split()) for v in values if v.strip()))
        alts = tuple(a for a in alts if a != k)
        if k and alts:
            out[k] = alts
    return out


def load_synonyms(path: Path | str) -> dict[str, list[str]]:
    """Read a synonyms file: the format of Solr's and Elasticsearch's synonym files.

    One rule a line; ``#`` starts a comment. ``delete, remove, erase`` makes each word find the
    others; ``fb => facebook`` rewrites one way only (several on either side, comma-separated).
    A rule may hold phrases (``sign in, log in``). The result goes to ``SearchIndex(synonyms=)``.
    """
    out: dict[str, list[str]] = {}
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        left, arrow, right = line.partition("=>")
        keys = [k for k in (" ".join(x.split()) for x in left.split(",")) if k]
        values = [v for v in (" ".join(x.split()) for x in right.split(",")) if v] if arrow else keys
        if not keys or not values:
            raise SearchError(f"{path}:{number}: expected `a, b, c` or `a => b`, got {raw.strip()!r}")
        for key in keys:
            alts = out.setdefault(key.lower(), [])
            alts.extend(v for v in values if v.lower() != key.lower() and v not in alts)
    return out


@dataclass(frozen=True, slots=True)
class Option:
    """Terms that satisfy a clause: one term, or a phrase of several; ``weight`` scales it."""

    terms: tuple[str, ...]
    weight: float = 1.0


@dataclass(slots=True)
class ClausePlan:
    options: list[Option] = field(default_factory=list)


@dataclass(slots=True)
class Plan:
    """What to score, what to leave out, and what building it found out."""

    clauses: list[ClausePlan] = field(default_factory=list)
    exclude: list[ClausePlan] = field(default_factory=list)
    highlight: set[str] = field(default_factory=set)  # terms to mark in snippets
    unknown: list[str] = field(default_factory=list)  # words (lowercased) found nowhere
    notes: list[str] = field(default_factory=list)  # caps that were reached, for the customer
    late: bool = False  # time ran out while building it: some prefixes were not expanded

    def __bool__(self) -> bool:
        return bool(self.clauses)


class PlanBuilder:
    """Builds plans against one reader (prefixes and unknown words need its vocabulary)."""

    def __init__(
        self,
        reader: IndexReader,
        analyzer: Analyzer,
        *,
        synonyms: Mapping[str, tuple[str, ...]] | None = None,
        max_expansions: int = MAX_EXPANSIONS,
        exists: Callable[[str], bool] | None = None,
        alternatives: Sequence[Analyzer] = (),
        deadline: float = math.inf,
    ) -> None:
        self.reader = reader
        self.deadline = deadline  # past it, prefixes after the first are not expanded
        # Other languages' analyses of each word, as options of its clause: a search in German
        # also finds the English originals that have no German version (:mod:`.languages`).
        self.alternatives = tuple(a for a in alternatives if a.language != analyzer.language)
        if exists is not None:
            self.exists = exists  # type: ignore[method-assign,assignment]
        self.analyzer = analyzer
        self.synonyms = synonyms or {}
        self.max_expansions = max_expansions
        self.budget = EXPANSION_BUDGET
        self.capped = False  # a prefix had more completions than it could expand to
        self.late = False  # the deadline passed while expanding prefixes

    def exists(self, term: str) -> bool:
        """Whether any scored field has ``term`` (the index passes its cached answer instead)."""
        freq = self.reader.doc_frequency
        return any(freq(f, term) for f in SEARCH_FIELDS)

    def prefix_words(self, prefix: str) -> list[str]:
        """The most frequent vocabulary words starting with ``prefix`` (within the budget).

        Each segment's vocabulary is read in order from ``prefix`` with its document counts in
        one pass (a random lookup per word cost three times more: 12,000 of them made a query
        of 50 prefixes take half a second at 30k articles). The first :data:`_PREFIX_SCAN`
        words of the merged vocabulary are those of each segment's first ones.
        """
        n = min(self.max_expansions, self.budget)
        if n > 0 and self.budget < EXPANSION_BUDGET and time.perf_counter() > self.deadline:
            self.late = True  # the first prefix always expands: the search then finds something
            n = 0
        if n <= 0:
            if next(self.reader.expand_prefix("spell", prefix), None) is not None:
                self.capped = True
            return []
        key = prefix.encode("utf-8")
        counts: dict[bytes, int] = {}
        for leaf, _ in self.reader.leaf_readers():
            for text, info in islice(leaf.iter_prefix("spell", key), _PREFIX_SCAN):
                counts[text] = counts.get(text, 0) + info.doc_frequency()
        words = sorted(counts)[:_PREFIX_SCAN]
        if len(words) > n:
            self.capped = True
        best = heapq.nlargest(n, words, key=counts.__getitem__)
        self.budget -= len(best)
        return [b.decode("utf-8") for b in best]

    def _text(self, text: str, weight: float, plan: Plan, clause: ClausePlan) -> None:
        terms = tuple(self.analyzer.terms(text))
        if terms:
            plan.highlight.update(terms)
            clause.options.append(Option(terms, weight))
            self._alternatives(text, weight, plan, clause)

    def _alternatives(self, text: str, weight: float, plan: Plan, clause: ClausePlan) -> None:
        for other in self.alternatives:
            terms = tuple(other.terms(text))
            if terms:
                plan.highlight.update(terms)
                clause.options.append(Option(terms, weight))

    def _word(self, word: Word, plan: Plan, clause: ClausePlan, corrections: Mapping[str, Sequence[str]]) -> None:
        lowered = word.text.lower()
        if word.prefix:
            words = self.prefix_words(lowered)
            expanded = dict.fromkeys(t for w in words if (t := self.analyzer.term(w)) is not None)
            for other in self.alternatives:
                expanded.update(dict.fromkeys(t for w in words if (t := other.term(w)) is not None))
            exact = self.analyzer.term(lowered)
            for t in expanded:
                clause.options.append(Option((t,), 1.0 if t == exact else PREFIX_WEIGHT))
            plan.highlight.update(expanded)
            return
        terms = tuple(self.analyzer.terms(word.text))
        if not terms:
            return  # a stop word
        plan.highlight.update(terms)
        clause.options.append(Option(terms))
        self._alternatives(word.text, 1.0, plan, clause)
        if not all(self.exists(t) for t in terms):
            plan.unknown.append(lowered)
        for alt in self.synonyms.get(lowered, ()):
            self._text(alt, SYNONYM_WEIGHT, plan, clause)
        for fix in corrections.get(lowered, ()):
            self._text(fix, CORRECTION_WEIGHT, plan, clause)

    def _clause(self, clause: Clause, plan: Plan, corrections: Mapping[str, Sequence[str]]) -> ClausePlan:
        out = ClausePlan()
        for option in clause.options if isinstance(clause, AnyOf) else (clause,):
            if isinstance(option, Phrase):
                self._text(" ".join(option.words), 1.0, plan, out)
            else:
                self._word(option, plan, out, corrections)
        out.options = list(dict.fromkeys(out.options))
        return out

    def build(self, parsed: ParsedQuery, corrections: Mapping[str, Sequence[str]] | None = None) -> Plan:
        """The plan for ``parsed``; ``corrections`` maps unknown words to words to try as well."""
        corrections = corrections or {}
        self.budget = EXPANSION_BUDGET
        self.capped = self.late = False
        plan = Plan()
        for clause in dict.fromkeys(self._with_phrase_synonyms(parsed)):  # "a a a" is "a"
            built = self._clause(clause, plan, corrections)
            if built.options:
                plan.clauses.append(built)
        ignored = Plan()  # excluded words are not highlighted nor corrected
        for clause in dict.fromkeys(parsed.exclude):
            built = self._clause(clause, ignored, {})
            if built.options:
                plan.exclude.append(built)
        if self.capped:
            plan.notes.append(PREFIX_NOTE)
        plan.late = self.late
        return plan

    def _with_phrase_synonyms(self, parsed: ParsedQuery) -> list[Clause]:
        """Multi-word synonym keys (``sign in``) match consecutive words; they become OR groups."""
        clauses = list(parsed.include)
        multi = sorted((k for k in self.synonyms if " " in k), key=len, reverse=True)
        if not multi:
            return clauses
        out: list[Clause] = []
        i = 0
        while i < len(clauses):
            for key in multi:
                n = key.count(" ") + 1
                window = clauses[i : i + n]
                if len(window) == n and all(isinstance(c, Word) and not c.prefix for c in window):
                    words = tuple(c.text for c in window if isinstance(c, Word))
                    if " ".join(words).lower() == key:
                        alts = tuple(Phrase(tuple(a.split())) if " " in a else Word(a) for a in self.synonyms[key])
                        out.append(AnyOf((Phrase(words), *alts)))
                        i += n
                        break
            else:
                out.append(clauses[i])
                i += 1
        return out
