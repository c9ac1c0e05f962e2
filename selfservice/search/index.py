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
safe snippets (:mod:`.snippets`). It never raises for what a customer types.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from pathlib import Path
from types import TracebackType

from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from ..content import Article
from ..errors import IndexBusyError
from .generations import Generation, Generations
from .grammar import ParsedQuery, parse_query
from .query import PlanBuilder, normalize_synonyms
from .ranking import Weights
from .results import SearchHit, SearchResults, SyncStats
from .schema import SCHEMA_VERSION, Analyzer, Shown, build_schema, document, resolve_language, stamp
from .snippets import Snippeter
from .spelling import MAX_WORDS, Speller, suggestion_text
from .storage import IndexStore

__all__ = ["SearchIndex"]

MAX_LIMIT = 1000
TOO_SLOW = "The search took too long; showing the results found so far."
ONLY_EXCLUDED = "Add a word to search for, not only words to leave out."
NO_WORDS = "Type one or more words to search for."
TYPOS_CAPPED = f"Only the first {MAX_WORDS} unknown words were checked for typos."
_WRITER_MB = 128


class SearchIndex:
    """The search index in folder ``path`` (created on the first ``rebuild`` or ``sync``).

    ``time_limit`` bounds one search in seconds; ``max_terms`` and ``max_length`` bound a query;
    ``synonyms`` maps a word or phrase to alternatives that are searched too (with less weight).
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
    ) -> None:
        self.path = Path(path)
        self.language = resolve_language(language)
        self.time_limit = time_limit
        self.max_terms = max_terms
        self.max_length = max_length
        self.synonyms = normalize_synonyms(synonyms)
        self._store = IndexStore(self.path, lock_timeout)
        self._generations = Generations(self._store, self.language, cache_size, weights)
        self._analyzer = Analyzer(self.language)
        self._snippet = Snippeter(self._analyzer.term)

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
        gen = self._generations.current()
        return gen.ix.doc_count() if gen is not None else 0

    # -- writing ------------------------------------------------------------------------------
    def rebuild(self, articles: Iterable[Article], progress: Callable[[int, int], None] | None = None) -> None:
        """Index ``articles`` afresh into a new folder, then switch to it atomically.

        If building fails (or the process dies) the old index stays live. When two articles
        share a slug the first one wins.
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
                writer = ix.writer(limitmb=_WRITER_MB)
                try:
                    seen: set[str] = set()
                    done = 0
                    for article in items:
                        if article.slug not in seen:
                            seen.add(article.slug)
                            writer.add_document(**document(article, self._analyzer))
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
        wanted = {a.slug: a for a in articles}
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
            self._write(lambda w: w.update_document(**document(article, self._analyzer)))

    def delete(self, slug: str) -> None:
        """Remove one article (nothing happens if it is not indexed)."""
        if not self.exists:
            return
        with self._store.write_lock():
            self._write(lambda w: w.delete_by_term("slug", slug))

    def _ensure_index(self) -> None:
        if not self.exists:
            self.rebuild([])

    def _plan(self, wanted: dict[str, Article]) -> tuple[list[Article], list[Article], list[str]] | None:
        folder = self._generations.folder()
        if folder is None:
            return None
        try:
            ix = whoosh_index.open_dir(str(folder))
        except (OSError, whoosh_index.EmptyIndexError):
            return None
        try:
            with ix.reader() as reader:
                indexed: dict[str, bytes] = {}
                if reader.doc_count():
                    slugs = reader.column_reader("slug")
                    stamps = reader.column_reader("stamp")
                    for docnum in reader.all_doc_ids():
                        indexed[slugs[docnum]] = stamps[docnum]
        finally:
            ix.close()
        add = [a for s, a in wanted.items() if s not in indexed]
        change = [a for s, a in wanted.items() if s in indexed and indexed[s] != stamp(a)]
        remove = [s for s in indexed if s not in wanted]
        return add, change, remove

    def _write(self, apply: Callable[[IndexWriter], object]) -> None:
        """Run ``apply`` in a whoosh writer on the live folder, commit, and tell every reader."""
        pointer = self._store.read_pointer()
        if pointer is None or not self._generations.compatible(pointer):
            raise IndexBusyError(f"the search index in {self.path} was replaced while writing; try again")
        ix = whoosh_index.open_dir(str(self._store.folder(pointer)))
        try:
            try:
                writer = ix.writer(timeout=self._store.lock_timeout, limitmb=_WRITER_MB)
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
        self._store.publish(pointer.folder, pointer.schema, pointer.language)

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
    ) -> SearchResults:
        """One page of articles matching ``q`` (customer text, any text), best first."""
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
            return SearchResults(parsed.text, 0, [], _message(notes))
        gen = self._generations.current()
        if gen is None:
            return SearchResults(parsed.text, 0, [], _message(notes))
        key = (parsed.text, limit, offset, category, tag and tag.lower(), locale, manual)
        cached = gen.cached(key)
        if cached is not None:
            return cached
        searcher = gen.checkout()
        try:
            filters = [
                (name, value)
                for name, value in (("category", category), ("tags", tag and tag.lower()), ("locale", locale),
                                    ("manual", manual))
                if value
            ]  # fmt: skip
            results, complete = self._run(gen, searcher, parsed, notes, limit, offset, filters, deadline)
        finally:
            gen.checkin(searcher)
        if complete:
            gen.remember(key, results)
        return results

    def _run(
        self,
        gen: Generation,
        searcher: Searcher,
        parsed: ParsedQuery,
        notes: list[str],
        limit: int,
        offset: int,
        filters: list[tuple[str, str]],
        deadline: float,
    ) -> tuple[SearchResults, bool]:
        reader = searcher.reader()
        builder = PlanBuilder(reader, self._analyzer, synonyms=self.synonyms)
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
            return SearchResults(parsed.text, 0, [], _message(notes), suggestion), True
        allowed = gen.ranker.allowed(reader, filters)
        total, top, complete = gen.ranker.rank(searcher, plan, allowed, deadline, offset + limit)
        if not complete:
            notes.append(TOO_SLOW)
        hits = []
        for docnum, score in top[offset:]:
            stored = reader.stored_fields(docnum)
            shown = Shown(stored["shown"])
            snippet = self._snippet(shown.text, plan.highlight)
            hits.append(SearchHit(stored["slug"], shown.title, shown.summary, shown.category, score, snippet))
        return SearchResults(parsed.text, total, hits, _message(notes), suggestion), complete

    def _apply(self, writer: IndexWriter, add: list[Article], change: list[Article], remove: list[str]) -> None:
        for article in add:
            writer.add_document(**document(article, self._analyzer))
        for article in change:
            writer.update_document(**document(article, self._analyzer))
        for slug in remove:
            writer.delete_by_term("slug", slug)


def _message(notes: list[str]) -> str | None:
    return " ".join(dict.fromkeys(notes)) or None
