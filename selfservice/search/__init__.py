"""Full-text search over the knowledge base: index, query grammar, ranking, snippets, typos.

Only this package imports whoosh. The pieces, each in its own module:

- :mod:`.grammar` — the customer query language (words, "phrases", -exclude, OR, prefix*);
- :mod:`.schema` — fields and per-language analyzers (stop words, stemming);
- :mod:`.query` — grammar → bounded whoosh queries with field boosts and synonyms;
- :mod:`.spelling` — typo corrections and "did you mean";
- :mod:`.snippets` — safe HTML snippets with ``<mark>``;
- :mod:`.storage` / :mod:`.generations` — atomic generations on disk, the writer lock,
  searchers that follow commits from any process;
- :mod:`.index` — :class:`SearchIndex`, which ties them together.
"""

from __future__ import annotations

from .grammar import AnyOf, ParsedQuery, Phrase, Word, parse_query
from .index import SearchIndex
from .query import load_synonyms
from .results import SearchHit, SearchResults, SyncStats

__all__ = [
    "AnyOf",
    "ParsedQuery",
    "Phrase",
    "SearchHit",
    "SearchIndex",
    "SearchResults",
    "SyncStats",
    "Word",
    "load_synonyms",
    "parse_query",
]
