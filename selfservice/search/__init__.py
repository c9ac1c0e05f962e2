"""Full-text search over the knowledge base: index, query grammar, ranking, snippets, typos.

Only this package imports whoosh. The pieces, each in its own module:

- :mod:`.grammar` — the customer query language (words, "phrases", -exclude, OR, prefix*);
- :mod:`.schema` — fields and per-language analyzers (stop words, stemming);
- :mod:`.languages` — which documents a search in one language may find (its own language
  versions, and originals that have none in it);
- :mod:`.query` — grammar → bounded plans with synonyms (and the synonyms file format);
- :mod:`.spelling` — typo corrections and "did you mean";
- :mod:`.ranking` — BM25F and the second pass (title coverage, same-title spreading);
- :mod:`.rerank` / :mod:`.semantic` — the optional re-ranking of the best few results by
  meaning, and its one implementation (the ``semantic`` extra);
- :mod:`.postings` — fast block and column reads from whoosh's files;
- :mod:`.snippets` — safe HTML snippets with ``<mark>``;
- :mod:`.suggest` / :mod:`.answers` / :mod:`.facets` — autocomplete over titles, direct
  answers when confident, counts per category, tag and manual;
- :mod:`.storage` / :mod:`.generations` — atomic generations on disk, the writer lock,
  searchers that follow commits from any process;
- :mod:`.index` — :class:`SearchIndex`, which ties them together.
"""

from __future__ import annotations

from .answers import Answer
from .grammar import AnyOf, ParsedQuery, Phrase, Word, parse_query
from .index import SearchIndex
from .query import load_synonyms
from .ranking import Weights
from .rerank import Reranker
from .semantic import SemanticReranker
from .results import FacetCount, Facets, SearchHit, SearchResults, SyncStats
from .suggest import Suggestion

__all__ = [
    "Answer",
    "AnyOf",
    "FacetCount",
    "Facets",
    "ParsedQuery",
    "Phrase",
    "SearchHit",
    "SearchIndex",
    "Reranker",
    "SearchResults",
    "SemanticReranker",
    "Suggestion",
    "SyncStats",
    "Weights",
    "Word",
    "load_synonyms",
    "parse_query",
]
