"""Typo tolerance: corrections for words the index does not know, and "did you mean".

Corrections come from the ``spell`` field, the unstemmed vocabulary of the articles, so a
suggestion is always a word some article uses. A word of 4–6 letters may be one edit away, a
longer one two (Damerau–Levenshtein: swapping two letters is one edit); shorter words and codes
are not corrected (too many neighbours), and the first letter must match, as it almost always
does in real typos. Candidates rank by distance, then by how many articles use them.

How candidates are found fast (a query must stay in milliseconds): a symmetric-deletion index
(the SymSpell idea). Every vocabulary word is filed under itself and each of its one-letter
deletions; a query word looks up itself, its one-letter and its two-letter deletions. That
finds every word within one edit and most within two, with a few dozen dictionary lookups.
The index is built once per index generation, on the first query that needs it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence

from whoosh.reading import IndexReader
from whoosh.support.levenshtein import damerau_levenshtein

__all__ = [
    "MAX_CORRECTIONS",
    "MAX_WORDS",
    "Speller",
    "Vocabulary",
    "VocabularyCache",
    "max_edits",
    "suggestion_text",
]

MAX_CORRECTIONS = 3  # corrections tried per word
MAX_WORDS = 8  # words corrected per query
MIN_WORD, MAX_WORD = 4, 20  # shorter words have too many neighbours; longer ones are codes
_FIELD = "spell"


def max_edits(word: str) -> int:
    """How many edits a word of this length may be away from its correction."""
    n = len(word)
    if n < MIN_WORD or n > MAX_WORD or not word.isalpha():
        return 0
    return 1 if n <= 6 else 2


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(1, len(word))}  # never the first letter


class Vocabulary:
    """The vocabulary's words filed under themselves and their one-letter deletions."""

    def __init__(self, words: Iterable[str]) -> None:
        index: dict[str, list[str] | str] = {}
        for word in words:
            if not (MIN_WORD - 1 <= len(word) <= MAX_WORD + 2 and word.isalpha()):
                continue  # could not be the correction of any word we correct
            for key in (word, *_deletions(word)):
                seen = index.get(key)
                if seen is None:
                    index[key] = word  # most keys have one word: no list for them
                elif isinstance(seen, list):
                    seen.append(word)
                else:
                    index[key] = [seen, word]
        self._index = index

    @classmethod
    def from_reader(cls, reader: IndexReader) -> Vocabulary:
        return cls(b.decode("utf-8") for b in reader.lexicon(_FIELD))

    def near(self, word: str) -> set[str]:
        """Words that may be within :func:`max_edits` of ``word`` (to be verified)."""
        keys = {word} | _deletions(word)
        if max_edits(word) > 1:
            keys |= {d2 for d1 in _deletions(word) for d2 in _deletions(d1)}
        found: set[str] = set()
        index = self._index
        for key in keys:
            hit = index.get(key)
            if hit is None:
                continue
            if isinstance(hit, list):
                found.update(hit)
            else:
                found.add(hit)
        return found


class Speller:
    """Finds corrections for one reader, with the generation's :class:`Vocabulary`."""

    def __init__(self, reader: IndexReader, vocabulary: Vocabulary) -> None:
        self.reader = reader
        self.vocabulary = vocabulary

    def candidates(self, word: str, limit: int = MAX_CORRECTIONS) -> list[str]:
        """The closest, most used vocabulary words for ``word`` (lowercased)."""
        maxdist = max_edits(word)
        if maxdist == 0:
            return []
        freq = self.reader.doc_frequency
        scored = []
        for other in self.vocabulary.near(word):
            if other == word or other[0] != word[0]:
                continue
            distance = damerau_levenshtein(word, other, maxdist + 1)
            if distance <= maxdist:
                scored.append((distance, -freq(_FIELD, other), other))
        scored.sort()
        return [w for _, _, w in scored[:limit]]

    def correct(self, words: Sequence[str]) -> dict[str, list[str]]:
        """Corrections for each of ``words`` that has any, for the first :data:`MAX_WORDS`."""
        out: dict[str, list[str]] = {}
        for word in list(dict.fromkeys(words))[:MAX_WORDS]:
            found = self.candidates(word)
            if found:
                out[word] = found
        return out


class VocabularyCache:
    """Builds a generation's :class:`Vocabulary` once, on first use, for all threads."""

    def __init__(self) -> None:
        self._vocabulary: Vocabulary | None = None
        self._lock = threading.Lock()

    def get(self, reader: IndexReader) -> Vocabulary:
        if self._vocabulary is None:
            with self._lock:
                if self._vocabulary is None:
                    self._vocabulary = Vocabulary.from_reader(reader)
        return self._vocabulary


def suggestion_text(query: str, corrections: Mapping[str, Sequence[str]]) -> str | None:
    """``query`` with each corrected word replaced by its best correction, or None."""
    result = query
    for word, fixes in corrections.items():
        if fixes:
            result = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", fixes[0], result, flags=re.IGNORECASE)
    return result if result != query else None
