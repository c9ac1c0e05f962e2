"""Facet counts for the results page: how many matches per category, tag and manual.

Each facet value's documents are read once per index generation (a few postings lists: facet
fields have few values), as sets; a query's count per value is then one C-level set
intersection with its matches, so counting costs about the same whatever the query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from whoosh.reading import IndexReader

__all__ = ["FACET_FIELDS", "FacetIndex"]

#: Result field name → index field.
FACET_FIELDS = {"category": "category", "tag": "tags", "manual": "manual"}
MAX_VALUES = 5000  # distinct values read per facet field (tags could be anything)

Postings = Callable[[IndexReader, str, str], Iterable[tuple[Sequence[int], Sequence[float]]]]


class FacetIndex:
    """Per facet field, each value's documents; built lazily, once per generation, for all threads."""

    def __init__(self, postings: Postings) -> None:
        self._postings = postings
        self._values: dict[str, dict[str, frozenset[int]]] = {}
        self._lock = threading.Lock()

    def values(self, reader: IndexReader, name: str) -> dict[str, frozenset[int]]:
        """Every value of the index field ``name`` with its (live) documents."""
        with self._lock:
            cached = self._values.get(name)
        if cached is not None:
            return cached
        values: dict[str, frozenset[int]] = {}
        for raw in islice(reader.lexicon(name), MAX_VALUES):
            value = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            docs: set[int] = set()
            for ids, _ in self._postings(reader, name, value):
                docs.update(ids)
            if docs:
                values[value] = frozenset(docs)
        with self._lock:
            self._values[name] = values
        return values

    def counts(self, reader: IndexReader, name: str, matched: frozenset[int]) -> list[tuple[str, int]]:
        """(value, matches having it), most frequent first, then by value."""
        counts = [(v, len(matched & docs)) for v, docs in self.values(reader, name).items()]
        return sorted(((v, c) for v, c in counts if c), key=lambda vc: (-vc[1], vc[0]))
