"""Direct answers: the one passage that answers a question, shown above the results — when sure.

A wrong direct answer costs more than none (the customer trusts it and stops reading), so an
answer is given only when two independent signals agree:

1. the best article is clearly best: its score is at least :data:`MARGIN` times the
   runner-up's (or it is the only match);
2. one paragraph of it covers the question: the idf-weighted share of the query's terms found
   in the paragraph, its section heading and the article title is at least :data:`COVERAGE`,
   and the paragraph itself holds at least one query term that is not in the title (a
   paragraph that merely sits in a matching article is not an answer).

Sections come from the stored body text and table of contents: a block equal to the next
heading's text starts that heading's section, so the answer links to ``#anchor``.
``benchmarks/search_quality.py`` reports how often answers are given and how often their
article is a relevant one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["COVERAGE", "MARGIN", "Answer", "Section", "best_passage", "sections"]

MARGIN = 1.25
COVERAGE = 0.75
MAX_CHARS = 600  # of the paragraph shown
_MAX_BLOCKS = 400  # blocks of one body looked at


@dataclass(frozen=True, slots=True)
class Answer:
    """A passage that answers the query: show ``text`` and link to ``slug`` + ``#anchor``."""

    slug: str
    title: str
    heading: str | None  # the section's heading (None: before the first heading)
    anchor: str | None  # its id in the article page
    text: str  # plain text, to be escaped like any other
    coverage: float  # idf-weighted share of the query's terms the passage covers
    margin: float  # the article's score over the runner-up's (inf: the only match)


@dataclass(frozen=True, slots=True)
class Section:
    heading: str | None
    anchor: str | None
    paragraphs: tuple[str, ...]


def sections(text: str, toc: Sequence[tuple[str, str]]) -> list[Section]:
    """The body split into sections at its headings (``toc``: (anchor, heading text))."""
    blocks = [b.strip() for b in text.split("\n\n")[:_MAX_BLOCKS]]
    out: list[Section] = []
    heading: str | None = None
    anchor: str | None = None
    paragraphs: list[str] = []
    pending = list(toc)
    for block in blocks:
        if not block:
            continue
        if pending and block == pending[0][1].strip():
            if paragraphs:
                out.append(Section(heading, anchor, tuple(paragraphs)))
            anchor, heading = pending.pop(0)
            paragraphs = []
            continue
        paragraphs.append(block)
    if paragraphs:
        out.append(Section(heading, anchor, tuple(paragraphs)))
    return out


def best_passage(
    query_terms: Mapping[str, float],
    title: str,
    text: str,
    toc: Sequence[tuple[str, str]],
    terms_of: Callable[[str], list[str]],
) -> tuple[Section, str, float] | None:
    """The paragraph covering most of ``query_terms`` (term → idf): (section, paragraph, coverage).

    None when no paragraph qualifies (see the module docstring).
    """
    # fsum, not sum: it is exactly rounded, so a coverage does not depend on the order a set
    # yields its terms in (that follows PYTHONHASHSEED). With sum, two paragraphs covering the
    # same terms could differ by one ulp and the longer one win the tie now and then.
    total = math.fsum(query_terms.values())
    if total <= 0:
        return None
    in_title = set(terms_of(title)) & query_terms.keys()
    best: tuple[float, int, Section, str] | None = None
    for section in sections(text, toc):
        in_heading = set(terms_of(section.heading or "")) & query_terms.keys()
        for paragraph in section.paragraphs:
            here = set(terms_of(paragraph)) & query_terms.keys()
            if not here - in_title:
                continue
            covered = math.fsum(query_terms[t] for t in here | in_heading | in_title) / total
            key = (covered, -len(paragraph))
            if best is None or key > (best[0], best[1]):
                best = (covered, -len(paragraph), section, paragraph)
    if best is None or best[0] < COVERAGE:
        return None
    covered, _, section, paragraph = best
    if len(paragraph) > MAX_CHARS:
        cut = paragraph.rfind(" ", 0, MAX_CHARS)
        paragraph = paragraph[: cut if cut > MAX_CHARS // 2 else MAX_CHARS] + " …"
    return section, paragraph, covered
