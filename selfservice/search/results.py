"""What a search returns, and what a sync did: plain frozen values, safe to cache and share."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["SearchHit", "SearchResults", "SyncStats"]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching article; ``snippet`` is safe HTML (escaped text, matches in ``<mark>``)."""

    slug: str
    title: str
    summary: str
    category: str
    score: float
    snippet: str


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of results.

    ``total`` counts every matching article (for paging), ``hits`` is the requested page.
    ``message`` tells the customer something about their query they should know (words that
    were ignored, a search cut short); ``suggestion`` is a corrected query to offer as
    "Did you mean …?". Both are plain text, to be escaped like any other.
    """

    query: str
    total: int
    hits: list[SearchHit] = field(default_factory=list)
    message: str | None = None
    suggestion: str | None = None


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
