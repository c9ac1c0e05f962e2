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
from array import array
from bisect import bisect_left
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
_OWNER_BITS = 20  # a packed entry: 43 bits of the key's hash, then 20 bits of the word's number
_OWNER_MASK = (1 << _OWNER_BITS) - 1
_HASH_MASK = (1 << 43) - 1


def max_edits(word: str) -> int:
    """How many edits a word of this length may be away from its correction."""
    n = len(word)
    if n < MIN_WORD or n > MAX_WORD or not word.isalpha():
        return 0
    return 1 if n <= 6 else 2


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(1, len(word))}  # never the first letter


class Vocabulary:
    """The vocabulary's words filed under themselves and their one-letter deletions.

    Compact, because a 30k-article vocabulary has hundreds of thousands of deletion keys (a
    dict of them took 68 MB at 3.6k articles): each key is kept as one 64-bit integer, its hash
    and the number of its word, in one sorted ``array`` (1.7 MB there), found by bisection. A
    hash collision only adds a candidate, which the edit-distance check then turns away.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words = [w for w in words if MIN_WORD - 1 <= len(w) <= MAX_WORD + 2 and w.isalpha()]
        if len(self.words) > _OWNER_MASK:
            self.words = self.words[:_OWNER_MASK]  # a million distinct words: the rest go uncorrected
        packed = [
            (hash(key) & _HASH_MASK) << _OWNER_BITS | number
            for number, word in enumerate(self.words)
            for key in (word, *_deletions(word))
        ]
        packed.sort()
        self._packed = array("q", packed)

    @classmethod
    def from_reader(cls, reader: IndexReader) -> Vocabulary:
        return cls(b.decode("utf-8") for b in reader.lexicon(_FIELD))

    def _filed(self, key: str) -> Iterable[int]:
        """Numbers of the words filed under ``key`` (and, rarely, of some whose key hashes alike)."""
        packed = self._packed
        low = (hash(key) & _HASH_MASK) << _OWNER_BITS
        i = bisect_left(packed, low)
        while i < len(packed) and packed[i] >> _OWNER_BITS == low >> _OWNER_BITS:
            yield packed[i] & _OWNER_MASK
            i += 1

    def near(self, word: str) -> set[str]:
        """Words that may be within :func:`max_edits` of ``word`` (to be verified)."""
        keys = {word} | _deletions(word)
        if max_edits(word) > 1:
            keys |= {d2 for d1 in _deletions(word) for d2 in _deletions(d1)}
        words = self.words
        return {words[n] for key in keys for n in self._filed(key)}


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
