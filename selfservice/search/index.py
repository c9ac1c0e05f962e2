"""``SearchIndex``: the knowledge base's full-text index — build, keep in sync, search.

Writes: :meth:`SearchIndex.rebuild` builds a whole new generation beside the live one and
switches atomically; :meth:`~SearchIndex.sync` compares a content digest per article with what
is indexed and writes only the difference (nothing at all when nothing changed, which makes it
cheap enough to call at every start-up); :meth:`~SearchIndex.update` and
:meth:`~SearchIndex.delete` change one article. One writer at a time, across processes; a
writer that waits longer than ``lock_timeout`` gets :class:`~selfservice.errors.IndexBusyError`.

Reads: :meth:`~SearchIndex.search` parses the customer's text with our own grammar
(:mod:`.grammar`), builds a bounded plan (:mod:`.query`), adds typo corrections for words the
index does not know (:mod:`.spelling`), scores under a time limit (:mod:`.ranking`) and makes
safe snippets (:mod:`.snippets`, on first use of a hit's ``snippet``), with facet counts when
asked (:mod:`.facets`). :meth:`~SearchIndex.suggest` completes titles as they are typed
(:mod:`.suggest`), :meth:`~SearchIndex.answer` gives the paragraph that answers a question
when it is sure (:mod:`.answers`). None of them raises for what a customer types. With a
``reranker`` (:mod:`.rerank`), the best few results of a search are re-ordered by meaning.

Segments are written uncompressed and not as one compound file (see :func:`_codec`): whoosh
copies a compound segment into memory for every searcher, which at 30k articles meant
hundreds of MB per process.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import LockError
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from ..content import Article
from ..errors import IndexBusyError
from .generations import Generation, Generations
from .grammar import ParsedQuery, parse_query
from .answers import MARGIN, Answer, best_passage
from .facets import FACET_FIELDS
from .query import Plan, PlanBuilder, normalize_synonyms
from .ranking import OutOfTime, Ranked, Weights
from .rerank import Reranker, TitleVectors, blend
from .results import FacetCount, Facets, SearchHit, SearchResults, SyncStats
from .schema import (
    SCHEMA_VERSION, Analyzers, Shown, body_text, build_schema, doc_key, document, resolve_language, stamp,
)
from .snippets import Snippeter
from .spelling import MAX_WORDS, Speller, suggestion_text
from .storage import IndexStore
from .suggest import Suggestion

__all__ = ["SearchIndex"]

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
TOO_SLOW = "The search took too long; showing the results found so far."
ONLY_EXCLUDED = "Add a word to search for, not only words to leave out."
NO_WORDS = "Type one or more words to search for."
TYPOS_CAPPED = f"Only the first {MAX_WORDS} unknown words were checked for typos."
_WRITER_MB = 128
_BLOCK = 512  # postings per block (whoosh: 128): a common word's postings load in fewer pieces


class SearchIndex:
    """The search index in folder ``path`` (created on the first ``rebuild`` or ``sync``).

    ``time_limit`` bounds one search in seconds; ``max_terms`` and ``max_length`` bound a query;
    ``synonyms`` maps a word or phrase to alternatives that are searched too (with less weight);
    ``reranker`` re-orders the best few results of :meth:`search` (:mod:`.rerank`; not
    :meth:`answer`, whose confidence margin is one of keyword scores).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        language: str = "en",
        time_limit: float = 0.4,
        max_terms: int = 32,
        max_length: int = 512,
        synonyms: Mapping[str, Sequence[str]] | None = None,
        lock_timeout: float = 10.0,
        cache_size: int = 256,
        weights: Weights | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.path = Path(path)
        self.reranker = reranker
        # A re-ranker whose title vectors are worked out when articles are indexed (rerank.py).
        self._vectors = reranker if isinstance(reranker, TitleVectors) else None
        self._model = self._vectors.model if self._vectors is not None else ""
        self.language = resolve_language(language)
        self.time_limit = time_limit
        self.max_terms = max_terms
        self.max_length = max_length
        self.synonyms = normalize_synonyms(synonyms)
        self._store = IndexStore(self.path, lock_timeout)
        self._generations = Generations(self._store, self.language, cache_size, weights)
        # An index dropped without close() still closes its files (whoosh keeps some open).
        weakref.finalize(self, self._generations.close)
        self._analyzers = Analyzers(self.language)
        self._analyzer = self._analyzers.default
        self._snippeters: dict[str, Snippeter] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Release open files; the index can still be used afterwards (it reopens)."""
        self._generations.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    @property
    def exists(self) -> bool:
        """Whether a usable index (this schema version and language) is in ``path``."""
        return self._generations.compatible(self._store.read_pointer())

    def __len__(self) -> int:
        checked = self._generations.checkout()
        if checked is None:
            return 0
        gen, searcher = checked
        try:
            return int(searcher.reader().doc_count())
        finally:
            gen.checkin(searcher)

    # -- writing ------------------------------------------------------------------------------
    def rebuild(self, articles: Iterable[Article], progress: Callable[[int, int], None] | None = None) -> None:
        """Index ``articles`` afresh into a new folder, then switch to it atomically.

        If building fails (or the process dies) the old index stays live. When two articles
        share a slug (and, for translations, a locale) the first one wins.
        """
        items = articles if isinstance(articles, Sized) else list(articles)
        total = len(items)
        step = max(1, total // 200)
        with self._store.write_lock():
            previous = self._store.read_pointer()
            self._store.clean(keep={previous.folder} if previous else set())
            build = self._store.new_build_folder()
            try:
                ix = whoosh_index.create_in(str(build), build_schema())
                writer = ix.writer(limitmb=_WRITER_MB, codec=_codec(), compound=False)
                try:
                    seen: set[str] = set()
                    done = 0
                    for article in items:
                        key = doc_key(article)
                        if key not in seen:
                            seen.add(key)
                            writer.add_document(**self._document(article))
                        done += 1
                        if progress is not None and (done % step == 0 or done == total):
                            progress(done, total)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                finally:
                    ix.close()
                name = self._store.promote(build)
            except BaseException:
                shutil.rmtree(build, ignore_errors=True)
                raise
            self._store.publish(name, SCHEMA_VERSION, self.language)
            self._store.clean(keep={name} | ({previous.folder} if previous else set()))

    def sync(self, articles: Iterable[Article]) -> SyncStats:
        """Make the index hold exactly ``articles``, writing only what changed.

        Without an index (or with one from another schema version or language) this rebuilds.
        """
        wanted = {doc_key(a): a for a in articles}
        plan = self._plan(wanted)
        if plan is None:
            self.rebuild(list(wanted.values()))
            return SyncStats(added=len(wanted), rebuilt=True)
        add, change, remove = plan
        if not (add or change or remove):
            return SyncStats(unchanged=len(wanted))
        with self._store.write_lock():
            plan = self._plan(wanted)  # again under the lock: another writer may have been first
            if plan is None:
                self._rebuild_locked_fallback(wanted)
                return SyncStats(added=len(wanted), rebuilt=True)
            add, change, remove = plan
            if add or change or remove:
                self._write(lambda w: self._apply(w, add, change, remove))
        return SyncStats(len(add), len(change), len(remove), len(wanted) - len(add) - len(change))

    def _rebuild_locked_fallback(self, wanted: dict[str, Article]) -> None:
        # Rare: the index vanished between the two plans. rebuild() takes the lock itself.
        raise IndexBusyError(f"the search index in {self.path} was replaced while syncing; try again")

    def update(self, article: Article) -> None:
        """Add or replace one article."""
        self._ensure_index()
        with self._store.write_lock():
            self._write(lambda w: w.update_document(**self._document(article)))

    def delete(self, slug: str) -> None:
        """Remove one article with its translations (nothing happens if it is not indexed)."""
        if not self.exists:
            return
        with self._store.write_lock():
            self._write(lambda w: w.delete_by_term("slug", slug))

    def _ensure_index(self) -> None:
        if not self.exists:
            self.rebuild([])

    def _plan(self, wanted: dict[str, Article]) -> tuple[list[Article], list[Article], list[str]] | None:
        """What to add, change and remove to index ``wanted``; None when there is no usable index."""
        checked = self._generations.checkout()
        if checked is None:
            return None
        gen, searcher = checked
        try:
            reader = searcher.reader()
            indexed: dict[str, bytes] = {}
            if reader.doc_count():
                keys = reader.column_reader("key")
                stamps = reader.column_reader("stamp")
                for docnum in reader.all_doc_ids():
                    indexed[keys[docnum]] = stamps[docnum]
        finally:
            gen.checkin(searcher)
        add = [a for s, a in wanted.items() if s not in indexed]
        change = [a for s, a in wanted.items() if s in indexed and indexed[s] != stamp(a, self._model)]
        remove = [s for s in indexed if s not in wanted]
        return add, change, remove

    def _write(self, apply: Callable[[IndexWriter], object]) -> None:
        """Run ``apply`` in a whoosh writer on a copy of the live folder, commit, switch to it.

        The copy is made of hard links (cheap: whoosh never changes a written file), so the
        live folder stays exactly as readers opened it — a commit that merges segments
        deletes files, and whoosh opens some of a segment's files only when first needed.
        """
        pointer = self._store.read_pointer()
        if pointer is None or not self._generations.compatible(pointer):
            raise IndexBusyError(f"the search index in {self.path} was replaced while writing; try again")
        work = self._store.fork(pointer)
        try:
            ix = whoosh_index.open_dir(str(work))
            try:
                try:
                    writer = ix.writer(timeout=self._store.lock_timeout, limitmb=_WRITER_MB, codec=_codec(),
                                       compound=False)  # fmt: skip
                except LockError:
                    raise self._store._busy() from None
                try:
                    apply(writer)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
            finally:
                ix.close()
            name = self._store.promote(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        self._store.publish(name, pointer.schema, pointer.language)
        self._store.clean(keep={name, pointer.folder})

    # -- searching ----------------------------------------------------------------------------
    def search(
        self,
        q: str,
        *,
        limit: int = 10,
        offset: int = 0,
        category: str | None = None,
        tag: str | None = None,
        locale: str | None = None,
        manual: str | None = None,
        facets: bool = False,
        language: str | None = None,
    ) -> SearchResults:
        """One page of articles matching ``q`` (customer text, any text), best first.

        With ``facets``, the results also count every match per category, tag and manual.
        ``language`` is the reader's (default: the index's): ``q`` is analyzed as that
        language, and articles in it are found, or their originals where they have no version
        in it (:mod:`.languages`). When that finds nothing, the index's default language is
        searched instead (a visitor of the German site typing English words).
        """
        found = self._search(q, limit, offset, category, tag, locale, manual, facets, language, peek=False)
        assert found is not None  # only a peek misses
        return found

    def cached(
        self,
        q: str,
        *,
        limit: int = 10,
        offset: int = 0,
        category: str | None = None,
        tag: str | None = None,
        locale: str | None = None,
        manual: str | None = None,
        facets: bool = False,
        language: str | None = None,
    ) -> SearchResults | None:
        """What :meth:`search` would answer when it is in the result cache, else None.

        It never searches nor opens files (one read of the small ``CURRENT`` file checks that
        the cache is fresh), so a view may call it on the event loop and send only misses to a
        worker thread: handing a cached search to a thread cost more than the search.
        """
        return self._search(q, limit, offset, category, tag, locale, manual, facets, language, peek=True)

    def _search(
        self, q: str, limit: int, offset: int, category: str | None, tag: str | None, locale: str | None,
        manual: str | None, facets: bool, language: str | None, *, peek: bool,
    ) -> SearchResults | None:
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        limit = min(limit, MAX_LIMIT)
        deadline = time.perf_counter() + self.time_limit
        parsed = parse_query(q or "", self.max_terms, self.max_length)
        notes = list(parsed.notes)
        if not parsed.include:
            if parsed.exclude:
                notes.append(ONLY_EXCLUDED)
            elif parsed.text:
                notes.append(NO_WORDS)  # "*", punctuation, emoji: nothing we could search for
            return SearchResults(parsed.text, 0, [], _message(notes), facets=Facets() if facets else None)
        gen = self._generations.live() if peek else self._generations.current()
        if gen is None:
            return None if peek else SearchResults(parsed.text, 0, [], _message(notes), facets=Facets() if facets else None)
        filters = [
            (name, value)
            for name, value in (("category", category), ("tags", tag and tag.lower()), ("locale", locale),
                                ("manual", manual))
            if value
        ]  # fmt: skip
        lang = resolve_language(language) if language else self.language
        key = (parsed.text, limit, offset, tuple(filters), facets, lang)
        cached = gen.cached(key)
        if cached is not None or peek:
            return cached
        checked = self._generations.checkout()
        if checked is None:
            return SearchResults(parsed.text, 0, [], _message(notes), facets=Facets() if facets else None)
        gen, searcher = checked
        try:
            reader = searcher.reader()
            want = offset + limit
            k = max(want, self.reranker.depth) if self.reranker is not None and want else want
            found = self._find(gen, searcher, parsed, notes, k, filters, deadline, lang)
            if not found.ranked.total and lang != self.language and found.ranked.complete:
                found = self._find(gen, searcher, parsed, notes, k, filters, deadline, self.language)
            top = found.ranked.top
            if self.reranker is not None and len(top) > 1:
                top = self._rerank(self.reranker, gen, searcher, found.suggestion or parsed.text, top)
            hits = []
            page = top[offset:want]
            texts = gen.column(searcher, "text") if page else None
            for docnum, score in page:
                stored = gen.stored(reader, docnum)
                shown = Shown(stored["shown"])
                snippet = partial(self._make_snippet, texts[docnum], found.plan.highlight,  # type: ignore[index]
                                  shown.lang)
                hits.append(SearchHit(stored["slug"], shown.title, shown.summary, shown.category, score, snippet))
            counted = None
            if facets:
                matched = frozenset(found.ranked.matches.tolist())
                counted = Facets(**{
                    name: [FacetCount(v, c) for v, c in gen.facets.counts(reader, field, matched)]
                    for name, field in FACET_FIELDS.items()
                })  # fmt: skip
        finally:
            gen.checkin(searcher)
        results = SearchResults(
            parsed.text, found.ranked.total, hits, _message(notes), found.suggestion, counted
        )
        if found.ranked.complete:
            gen.remember(key, results)
        return results

    def cached_answer(self, q: str, *, language: str | None = None) -> tuple[bool, Answer | None]:
        """(known, answer): :meth:`answer`'s result when it is cached (``(False, None)`` when not);
        like :meth:`cached`, safe on an event loop."""
        parsed = parse_query(q or "", self.max_terms, self.max_length)
        if not parsed.include:
            return True, None
        gen = self._generations.live()
        if gen is None:
            return False, None
        known, answer = gen.cached_answer((parsed.text, resolve_language(language) if language else self.language))
        return known, answer

    def facets(self, q: str, **filters: str | None) -> Facets:
        """Counts per category, tag and manual of every article matching ``q``."""
        return self.search(q, limit=0, facets=True, **filters).facets or Facets()  # type: ignore[arg-type]

    def answer(self, q: str, *, language: str | None = None) -> Answer | None:
        """The passage that answers ``q``, or None when not confident (see :mod:`.answers`).

        ``language`` as for :meth:`search` (without falling back to the default language)."""
        parsed = parse_query(q or "", self.max_terms, self.max_length)
        checked = self._generations.checkout() if parsed.include else None
        if checked is None:
            return None
        gen, searcher = checked
        lang = resolve_language(language) if language else self.language
        key = (parsed.text, lang)
        try:
            known, cached = gen.cached_answer(key)
            if known:
                return cached
            deadline = time.perf_counter() + self.time_limit
            reader = searcher.reader()
            found = self._find(gen, searcher, parsed, [], 2, [], deadline, lang)
            top = found.ranked.top
            if not found.ranked.complete:
                return None  # not remembered: with more time there may be an answer
            margin = 0.0 if not top else top[0][1] / top[1][1] if len(top) > 1 and top[1][1] > 0 else math.inf
            if margin < MARGIN:
                gen.remember_answer(key, None)
                return None
            terms = {t: gen.ranker.term(reader, t).idf for c in found.plan.clauses for t in c.options[0].terms}
            stored = gen.stored(reader, top[0][0])
            packed = gen.column(searcher, "text")[top[0][0]]
        finally:
            gen.checkin(searcher)
        shown = Shown(stored["shown"])
        best = best_passage(terms, shown.title, body_text(packed), shown.toc, self._analyzers(shown.lang).terms)
        answer = None
        if best is not None:
            section, text, coverage = best
            answer = Answer(stored["slug"], shown.title, section.heading, section.anchor, text, coverage, margin)
        gen.remember_answer(key, answer)
        return answer

    def suggest(self, prefix: str, limit: int = 8, *, language: str | None = None) -> list[Suggestion]:
        """Titles to offer while ``prefix`` is being typed (see :mod:`.suggest`), in ``language``
        (default: the index's; originals where an article has no version in it)."""
        checked = self._generations.checkout() if limit > 0 else None
        if checked is None:
            return []
        gen, searcher = checked
        lang = resolve_language(language) if language else self.language
        try:
            reader = searcher.reader()
            titles = gen.titles.get(reader, lang, gen.languages.allowed(reader, lang))
        finally:
            gen.checkin(searcher)
        return titles.suggest(prefix, limit)

    def _rerank(
        self, reranker: Reranker, gen: Generation, searcher: Searcher, text: str, top: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """``top`` re-ordered by :func:`.rerank.blend`; in keyword order if the re-ranker fails.

        The re-ranker sees the titles of this search's candidates only, and, for a
        :class:`~.rerank.TitleVectors` one, their vectors as written at indexing time. (Handing
        it every title of a new index version on a thread of its own, as an earlier version
        did, cost each search more than it saved: at 30k articles that thread's two seconds of
        embedding competed with the searches for the interpreter, and p99 went from 18 to
        27-46 ms.)
        """
        labels = gen.labels(searcher.reader())
        head = top[: reranker.depth]
        titles = [labels[d] for d, _ in head]
        groups = gen.ranker.groups(searcher.reader())
        vectors = None
        if self._vectors is not None:  # the candidates' title vectors, written when they were indexed
            column = gen.column(searcher, "vector")
            vectors = [column[d] for d, _ in head]
        try:
            return blend(reranker, text, top, titles, [groups[d] for d, _ in head], gen.ranker.weights.same_title,
                         vectors)  # fmt: skip
        except Exception:  # a broken re-ranker must not break search
            log.exception("the search re-ranker failed; results are in keyword order")
            return top

    def _make_snippet(self, packed: bytes, terms: set[str], language: str) -> str:
        return self._snippeter(language)(body_text(packed), terms)

    def _find(
        self,
        gen: Generation,
        searcher: Searcher,
        parsed: ParsedQuery,
        notes: list[str],
        k: int,
        filters: list[tuple[str, str]],
        deadline: float,
        language: str,
    ) -> _Found:
        """Plan (with typo corrections for words found nowhere), then rank the best ``k``
        among the documents a search in ``language`` may find."""
        reader = searcher.reader()
        ranker = gen.ranker
        def exists(term: str) -> bool:
            """Whether ``term`` is indexed: its scores, which ranking then reuses. Past the
            deadline a word counts as known (not corrected); ranking stops at it anyway."""
            try:
                return len(ranker.term(reader, term, deadline)) > 0
            except OutOfTime:
                return True

        builder = PlanBuilder(
            reader, self._analyzers(language), synonyms=self.synonyms, exists=exists,
            alternatives=(self._analyzer,), deadline=deadline,
        )
        plan = builder.build(parsed)
        corrections: dict[str, list[str]] = {}
        if plan.unknown and time.perf_counter() < deadline:
            # Only words found nowhere are corrected (fuzzy matching never runs when every word
            # matched something), at most MAX_WORDS of them, each to MAX_CORRECTIONS words.
            corrections = Speller(reader, gen.vocabulary.get(reader)).correct(plan.unknown)
            if len(set(plan.unknown)) > MAX_WORDS:
                notes.append(TYPOS_CAPPED)
            if corrections:
                plan = builder.build(parsed, corrections)
        notes.extend(plan.notes)
        suggestion = suggestion_text(parsed.text, corrections)
        if not plan:
            return _Found(plan, Ranked.nothing(), suggestion)
        allowed = gen.ranker.allowed(reader, filters)
        in_language = gen.languages.allowed(reader, language)
        if in_language is not None:
            allowed = in_language if allowed is None else allowed & in_language
        ranked = gen.ranker.rank(searcher, plan, allowed, deadline, k)
        if plan.late:
            ranked = ranked._replace(complete=False)  # not remembered: with more time it finds more
        if not ranked.complete:
            notes.append(TOO_SLOW)
        return _Found(plan, ranked, suggestion)

    def _apply(self, writer: IndexWriter, add: list[Article], change: list[Article], remove: list[str]) -> None:
        for article in add:
            writer.add_document(**self._document(article))
        for article in change:
            writer.update_document(**self._document(article))
        for key in remove:
            writer.delete_by_term("key", key)

    def _document(self, article: Article) -> dict[str, object]:
        analyzer = self._analyzers(article.locale)
        if self._vectors is None:
            return document(article, analyzer)
        try:
            vector = self._vectors.title_vector(article.title)
        except Exception:  # a broken re-ranker must not stop indexing: stamped without it, retried by sync
            log.exception("the search re-ranker could not work out a title vector; indexed without one")
            return document(article, analyzer)
        return document(article, analyzer, self._model, vector)

    def _snippeter(self, language: str) -> Snippeter:
        found = self._snippeters.get(language)
        if found is None:
            found = self._snippeters.setdefault(language, Snippeter(self._analyzers(language).term))
        return found


class _Found(NamedTuple):
    plan: Plan
    ranked: Ranked
    suggestion: str | None


def _codec() -> W3Codec:
    # Posting blocks uncompressed: a query then unpickles them without inflating them first
    # (every block says how it was written, so indexes written either way read alike).
    # Writers also get compound=False: whoosh opens a part of a compound segment file by
    # *copying* it into memory, once per searcher (47 MB of postings per searcher at 3.6k
    # articles); separate files are read with ordinary file reads instead.
    return W3Codec(blocklimit=_BLOCK, compression=0)


def _message(notes: list[str]) -> str | None:
    return " ".join(dict.fromkeys(notes)) or None
