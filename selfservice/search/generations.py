"""Reading the live index: one opened generation at a time, a searcher pool, a result cache.

Opening a whoosh searcher costs milliseconds, a query well under one, so searchers are kept
between queries. Whoosh searchers are not safe to share between threads (and the portal runs
searches in a thread pool), so each query checks one out of a small pool and returns it.

Freshness costs one small read of ``CURRENT`` per query (see :mod:`.storage`): when it
changes — a commit by this process or any other — the next query opens the new generation;
searchers of the old one are closed as they come back. Results are cached per generation, so
a commit invalidates them all at once (direct answers too); so are the ranker's term scores, the title index of
suggestions, the spelling vocabulary and the facet sets, each built on first use.

Every commit makes a new folder (:mod:`.storage`), and folders two commits old are removed:
a generation opens one searcher with all its files at once, and a searcher that can no longer
be opened (:class:`Stale`) makes :meth:`Generations.checkout` move on to the live one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any
from weakref import WeakKeyDictionary
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import FileIndex
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from ..errors import SearchError
from .facets import FacetIndex
from .languages import LanguageViews
from .postings import byte_values, open_files
from .ranking import Ranker, Weights
from .results import SearchResults
from .schema import SCHEMA_VERSION
from .spelling import VocabularyCache
from .suggest import TitleIndexCache
from .storage import IndexStore, Pointer, Signature

__all__ = ["Generation", "Generations", "Stale"]

_IDLE_SEARCHERS = 8
_STORED = 2048  # documents' stored fields kept per generation (about 1 KB each)
_OPEN_ATTEMPTS = 5  # a rebuild or commit can remove files between reading CURRENT and opening


class Stale(Exception):
    """The generation's folder was cleaned up (two commits later) before a searcher was opened."""


class Generation:
    """One opened version of the index."""

    def __init__(
        self, signature: Signature, pointer: Pointer, ix: FileIndex, cache_size: int, weights: Weights | None = None
    ) -> None:
        self.signature = signature
        self.pointer = pointer
        self.ix = ix
        self.retired = False
        self.ranker = Ranker(ix.doc_count_all(), weights)
        self.vocabulary = VocabularyCache()
        self.labels = _Labels()
        self.titles = TitleIndexCache(self.labels)  # (not a method of self: see _Labels)
        self.facets = FacetIndex(self.ranker.postings)
        self.languages = LanguageViews(self.ranker.postings)
        self._idle: list[Searcher] = []
        self._columns: WeakKeyDictionary[Searcher, dict[str, Any]] = WeakKeyDictionary()
        self._cache: OrderedDict[Hashable, SearchResults] = OrderedDict()
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()  # key → Answer or None
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._stored: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def checkout(self) -> Searcher:
        """A searcher for this thread alone; :class:`Stale` if the generation's folder is gone."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        try:
            return self.open_searcher()
        except (OSError, whoosh_index.EmptyIndexError) as e:
            raise Stale(str(e)) from None

    def open_searcher(self) -> Searcher:
        searcher = self.ix.searcher()
        try:
            open_files(searcher.reader())
        except BaseException:
            searcher.close()
            raise
        return searcher

    def column(self, searcher: Searcher, name: str) -> Any:
        """A column reader of ``searcher``'s, kept with it: opening one reads every offset."""
        with self._lock:
            columns = self._columns.setdefault(searcher, {})
        found = columns.get(name)  # only the thread that checked the searcher out gets here
        if found is None:
            found = columns[name] = searcher.reader().column_reader(name)
        return found

    def stored(self, reader: IndexReader, docnum: int) -> dict[str, Any]:
        """A document's stored fields, the most recently shown kept (the same answers make
        most pages: reading one costs a file read and an unpickling, ~30 µs)."""
        with self._lock:
            found = self._stored.get(docnum)
            if found is not None:
                self._stored.move_to_end(docnum)
                return found
        found = reader.stored_fields(docnum)
        with self._lock:
            self._stored[docnum] = found
            if len(self._stored) > _STORED:
                self._stored.popitem(last=False)
        return found

    def checkin(self, searcher: Searcher) -> None:
        with self._lock:
            if not self.retired and len(self._idle) < _IDLE_SEARCHERS:
                self._idle.append(searcher)
                return
        searcher.close()

    def retire(self) -> None:
        with self._lock:
            self.retired = True
            idle, self._idle = self._idle, []
            self._cache.clear()
            self._answers.clear()
        for s in idle:
            s.close()

    def cached(self, key: Hashable) -> SearchResults | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                return None
            self._cache.move_to_end(key)
        return replace(hit, hits=list(hit.hits))  # callers may mutate their list

    def cached_answer(self, key: Hashable) -> tuple[bool, Any]:
        """(found, answer): answers (``None`` included: "not sure") are cached like results."""
        with self._lock:
            if key not in self._answers:
                return False, None
            self._answers.move_to_end(key)
            return True, self._answers[key]

    def remember_answer(self, key: Hashable, answer: Any) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            if self.retired:
                return
            self._answers[key] = answer
            while len(self._answers) > self._cache_size:
                self._answers.popitem(last=False)

    def remember(self, key: Hashable, results: SearchResults) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            if self.retired:
                return
            self._cache[key] = replace(results, hits=list(results.hits))
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)


class _Labels:
    """Every document's title (its ``label``), read at once and kept for one generation.

    The re-ranker reads the titles of the best 30 results of every search (one column read per
    document cost more than the re-ranking itself) and autocomplete builds its title index from
    them. Two threads arriving together may both read them; either result is the same. An
    object of its own, not a method of :class:`Generation`: handed to the title index, a bound
    method made a reference cycle, and a replaced generation (its cached word scores: up to
    24 MB at 30k articles) then lived on until Python's cycle collector ran.
    """

    __slots__ = ("_labels",)

    def __init__(self) -> None:
        self._labels: list[str] | None = None

    def __call__(self, reader: IndexReader) -> list[str]:
        labels = self._labels
        if labels is None:
            labels = self._labels = [b.decode("utf-8", "surrogatepass") for b in byte_values(reader, "label")]
        return labels


class Generations:
    """Keeps the current :class:`Generation` of one index folder open and up to date."""

    def __init__(
        self, store: IndexStore, language: str, cache_size: int = 256, weights: Weights | None = None
    ) -> None:
        self.store = store
        self.language = language
        self.cache_size = cache_size
        self.weights = weights
        self._current: Generation | None = None
        self._lock = threading.Lock()

    def compatible(self, pointer: Pointer | None) -> bool:
        """Whether ``pointer`` names an index this code can read with this language."""
        return pointer is not None and pointer.schema == SCHEMA_VERSION and pointer.language == self.language

    def current(self) -> Generation | None:
        """The live generation (opened or refreshed as needed), or None if there is no usable index."""
        signature = self.store.signature()
        gen = self._current
        if gen is not None and gen.signature == signature:
            return gen
        with self._lock:
            gen = self._current
            if gen is not None and gen.signature == signature and signature is not None:
                return gen
            fresh = self._open()
            if gen is not None:
                gen.retire()
            self._current = fresh
            return fresh

    def live(self) -> Generation | None:
        """The opened generation if it is still the live one, else None; never opens one (a
        read of ``CURRENT`` only), so it may be called on an event loop."""
        gen = self._current
        return gen if gen is not None and gen.signature == self.store.signature() else None

    def _open(self) -> Generation | None:
        last_error: Exception | None = None
        for _ in range(_OPEN_ATTEMPTS):
            signature = self.store.signature()
            pointer = self.store.read_pointer()
            if signature is None or pointer is None or not self.compatible(pointer):
                return None
            try:
                ix = whoosh_index.open_dir(str(self.store.folder(pointer)))
                gen = Generation(signature, pointer, ix, self.cache_size, self.weights)
                gen.checkin(gen.open_searcher())  # one searcher with every file open, from birth
            except (OSError, whoosh_index.EmptyIndexError) as e:
                last_error = e  # removed under us by later commits: read CURRENT again
                continue
            return gen
        raise SearchError(
            f"cannot open the search index in {self.store.root} ({last_error}); "
            "rebuild it with `selfservice index`"
        )

    def checkout(self) -> tuple[Generation, Searcher] | None:
        """The live generation and a searcher of it (None: no index), retrying past clean-ups."""
        last_error: Exception | None = None
        for _ in range(_OPEN_ATTEMPTS):
            gen = self.current()
            if gen is None:
                return None
            try:
                return gen, gen.checkout()
            except Stale as e:
                last_error = e
                with self._lock:
                    if self._current is gen:
                        self._current = None
                gen.retire()
        raise SearchError(f"cannot open the search index in {self.store.root} ({last_error}); try again")

    def folder(self) -> Path | None:
        pointer = self.store.read_pointer()
        return self.store.folder(pointer) if self.compatible(pointer) and pointer else None

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retire()
            self._current = None
