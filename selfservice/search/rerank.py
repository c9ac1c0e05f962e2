"""Re-ranking the first results: the :class:`Reranker` interface and the score blend.

BM25 only sees the words a customer typed; "crossed out" never finds "strikethrough". A
re-ranker scores how close the query is in *meaning* to each of the best few candidates'
titles, and the order of those few becomes a blend of both::

    final = bm25 + weight · best_bm25 · similarity

(``bm25 / best_bm25`` is the candidate's share of the best keyword score, so ``weight`` is
how much one unit of similarity is worth against the whole of the best keyword match.)
Only the first ``depth`` candidates move; the rest keep their keyword order below them, so
paging stays stable and a re-ranker costs the same whatever the size of the index. Articles
sharing a title get the same similarity, so after the blend the ranking's own rule spreads
them out again (``Weights.same_title``: the second of a title × 0.5, the third × 0.25, …):
the first five results then hold more different answers.

The portal ships one re-ranker, :class:`~.semantic.SemanticReranker` (the ``semantic``
extra); any object with ``depth``, ``weight`` and ``similarities`` will do. It only ever sees
the titles of a search's candidates, and may keep what it works out about them.

A re-ranker that also has :class:`TitleVectors`' two methods gets its work done ahead: the
index asks it for each article's title vector when it indexes the article and keeps the
bytes in a column, and a search hands the candidates' bytes back with their titles, so no
search works out a title's vector. The bytes are the re-ranker's own business (the index
only stores them); ``model`` names them, and changing it re-indexes the articles.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, runtime_checkable

__all__ = ["Reranker", "TitleVectors", "blend"]


@runtime_checkable
class Reranker(Protocol):
    """Scores how well each title answers a query, in meaning rather than words."""

    #: How many of the best keyword results are re-ranked.
    depth: int
    #: Worth of a similarity of 1 against the best keyword score (see the module's formula).
    weight: float

    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        """One similarity per title, about −1 to 1 (cosine); called from several threads."""
        ...


@runtime_checkable
class TitleVectors(Protocol):
    """What a :class:`Reranker` may add to have its title vectors worked out at indexing time."""

    #: Names the model (and its version) whose vectors :meth:`title_vector` writes.
    model: str

    def title_vector(self, title: str) -> bytes:
        """The title's vector, as bytes to keep in the index (called when an article is indexed)."""
        ...

    def similarities_with(self, query: str, titles: Sequence[str], vectors: Sequence[bytes]) -> Sequence[float]:
        """As :meth:`Reranker.similarities`, given each title's bytes from :meth:`title_vector`
        too: ``b""`` where the index has none, or bytes another model wrote."""
        ...


def blend(
    reranker: Reranker,
    query: str,
    top: Sequence[tuple[int, float]],
    titles: Sequence[str],
    groups: Sequence[Hashable] | None = None,
    same_title: float = 1.0,
    vectors: Sequence[bytes] | None = None,
) -> list[tuple[int, float]]:
    """``top`` (document, score), best first, with its first ``depth`` re-ordered by the blend.

    ``titles`` holds the title of each of the first ``depth`` documents of ``top``, ``groups``
    a key per title (:func:`~.schema.title_group`) for the ``same_title`` spreading, and
    ``vectors`` their stored title vectors for a :class:`TitleVectors` re-ranker.
    """
    n = min(reranker.depth, len(top))
    if n < 2:
        return list(top)
    head = top[:n]
    best = max(score for _, score in head)
    if best <= 0:
        return list(top)
    if vectors is not None and isinstance(reranker, TitleVectors):
        sims = reranker.similarities_with(query, list(titles[:n]), list(vectors[:n]))
    else:
        sims = reranker.similarities(query, list(titles[:n]))
    scale = reranker.weight * best
    blended = [(d, s + scale * float(sim), i) for i, ((d, s), sim) in enumerate(zip(head, sims))]
    blended.sort(key=lambda item: item[1], reverse=True)  # stable: ties keep the keyword order
    if groups is not None and same_title < 1.0:
        seen: dict[Hashable, int] = {}
        spread = []
        for d, s, i in blended:
            count = seen.get(groups[i], 0)
            seen[groups[i]] = count + 1
            spread.append((d, s * same_title**count, i))
        spread.sort(key=lambda item: item[1], reverse=True)
        blended = spread
    return [(d, s) for d, s, _ in blended] + list(top[n:])
