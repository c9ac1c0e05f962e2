"""Which documents a search in one language may find.

Every language version of an article is indexed (:func:`.schema.doc_key`). A search in
language ``L`` finds the versions written in ``L`` and, for an article with no version in
``L``, its original — the same fallback as the article pages (``Library.localized``): a German
visitor finds German articles, and English ones that were never translated.

The sets are read once per index generation and language (a few postings lists and the
slug column), then each search intersects or filters with a frozenset. An index without
translations skips all of it (one document frequency read): nothing is ever left out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from whoosh.reading import IndexReader

from .postings import byte_values

__all__ = ["LanguageViews"]

Postings = Callable[[IndexReader, str, str], Iterable[tuple[Sequence[int], Sequence[float]]]]


class LanguageViews:
    """Per language, the documents a search in it may find; built lazily, once per generation."""

    def __init__(self, postings: Postings) -> None:
        self._postings = postings
        self._views: dict[str, frozenset[int] | None] = {}
        self._lock = threading.Lock()

    def allowed(self, reader: IndexReader, language: str) -> frozenset[int] | None:
        """The documents of ``language`` plus originals without a version in it; None: all of them."""
        with self._lock:
            if language in self._views:
                return self._views[language]
        if not reader.doc_frequency("original", "0"):
            return None  # no translations: every document is an original with a unique slug
        own = self._docs(reader, "lang", language)
        originals = self._docs(reader, "original", "1")
        slugs = byte_values(reader, "slug") if reader.doc_count() else []
        own_slugs = {slugs[d] for d in own}
        view = own | {d for d in originals - own if slugs[d] not in own_slugs}
        result = None if len(view) >= reader.doc_count() else frozenset(view)  # nothing left out
        with self._lock:
            self._views[language] = result
        return result

    def _docs(self, reader: IndexReader, field: str, value: str) -> set[int]:
        docs: set[int] = set()
        for ids, _ in self._postings(reader, field, value):
            docs.update(ids)
        return docs
