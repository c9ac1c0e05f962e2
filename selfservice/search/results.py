"""What a search returns, and what a sync did: plain frozen values, safe to cache and share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FacetCount", "Facets", "SearchHit", "SearchResults", "SyncStats"]


class SearchHit:
    """One matching article; ``snippet`` is safe HTML (escaped text, matches in ``<mark>``).

    The snippet may be given as a function: it is then made on first use, so that callers
    that show no snippets (the API with ``limit=0``, answers, suggestions) never pay for one.
    """

    __slots__ = ("slug", "title", "summary", "category", "score", "_snippet")

    def __init__(
        self, slug: str, title: str, summary: str, category: str, score: float, snippet: str | Callable[[], str] = ""
    ) -> None:
        self.slug = slug
        self.title = title
        self.summary = summary
        self.category = category
        self.score = score
        self._snippet = snippet

    @property
    def snippet(self) -> str:
        made = self._snippet
        if not isinstance(made, str):
            made = self._snippet = made()  # two threads may both make it: same result
        return made

    def _key(self) -> tuple[str, str, str, str, float, str]:
        return (self.slug, self.title, self.summary, self.category, self.score, self.snippet)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchHit) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"SearchHit(slug={self.slug!r}, title={self.title!r}, score={self.score!r})"


@dataclass(frozen=True, slots=True)
class FacetCount:
    """How many of a query's matches have one value (a category, a tag, a manual)."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """Counts per value over *all* a query's matches (after filters), most frequent first."""

    category: list[FacetCount] = field(default_factory=list)
    tag: list[FacetCount] = field(default_factory=list)
    manual: list[FacetCount] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of results.

    ``total`` counts every matching article (for paging), ``hits`` is the requested page.
    ``message`` tells the customer something about their query they should know (words that
    were ignored, a search cut short); ``suggestion`` is a corrected query to offer as
    "Did you mean …?". Both are plain text, to be escaped like any other. ``facets`` is
    filled when asked for (``search(..., facets=True)``).
    """

    query: str
    total: int
    hits: list[SearchHit] = field(default_factory=list)
    message: str | None = None
    suggestion: str | None = None
    facets: Facets | None = None


@dataclass(frozen=True, slots=True)
class SyncStats:
    """What :meth:`SearchIndex.sync` changed; ``rebuilt`` when it had to start afresh."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rebuilt: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted or self.rebuilt)
