"""Autocomplete over article titles: what the search box offers while the customer types.

Every word of every title is a way in: ``pass`` offers "Reset your **pass**word" as well as
"Change a **pass**code". Words typed before the last one must each match a title word (whole,
or one typo away when they have four letters or more); the last word is a prefix, and when no
title word starts with it, prefixes one typo away are tried ("pasw" → "pass…"). Titles that
match every word are offered (else those matching the most), those whose first word was typed
first, then shorter ones.

It must answer within a keystroke's budget (p99 < 10 ms at 3.6k articles, see
``benchmarks/search_scale.py``), so it never touches whoosh's postings: the titles of a
generation are read once, in bulk, from the ``label`` column into a small in-memory index (a
sorted word list for prefix ranges, the documents of each word), built on first use.
"""

from __future__ import annotations

import bisect
import heapq
import threading
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from whoosh.reading import IndexReader

from .grammar import WORD_RE
from .postings import byte_values

__all__ = ["MAX_SUGGESTIONS", "Suggestion", "TitleIndex", "TitleIndexCache"]

MAX_SUGGESTIONS = 50
_MAX_INPUT = 200  # characters of the typed text looked at
_MAX_WORDS = 8
_MAX_COMPLETIONS = 200  # title words one prefix may stand for
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A suggested article: ``str()`` of it is the title, ready to show."""

    title: str
    slug: str

    def __str__(self) -> str:
        return self.title


def fold(text: str) -> str:
    """Lowercase without accents, so ``cafe`` completes to ``Café``."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _edits(word: str) -> set[str]:
    """Words one edit (delete, swap, replace, insert; never the first letter) from ``word``."""
    head, n = word[:1], len(word)
    out = {word[:i] + word[i + 1 :] for i in range(1, n)}
    out |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, n - 1)}
    for i in range(1, n + 1):
        for c in _LETTERS:
            out.add(word[:i] + c + word[i:])
            if i < n:
                out.add(word[:i] + c + word[i + 1 :])
    out.discard(word)
    return {w for w in out if w.startswith(head)}


class TitleIndex:
    """The titles of one generation, indexed by their words.

    Titles are numbered shortest first (then alphabetically), so among titles that match
    equally well the lowest numbers are the ones to offer: picking them is a C-level
    ``heapq.nsmallest`` over plain integers.
    """

    def __init__(self, titles: Iterable[tuple[str, str]]) -> None:
        pairs = sorted(titles, key=lambda ts: (len(ts[0]), ts[0], ts[1]))
        self.titles = [t for t, _ in pairs]
        self.slugs = [s for _, s in pairs]
        docs: dict[str, list[int]] = {}
        leading: dict[str, list[int]] = {}  # first word of the title → titles
        findall = WORD_RE.findall
        for i, title in enumerate(self.titles):
            words = findall(fold(title))
            if words:
                leading.setdefault(words[0], []).append(i)
                for w in set(words):
                    docs.setdefault(w, []).append(i)
        self._docs = docs
        self._leading = leading
        self._words = sorted(docs)

    @classmethod
    def from_reader(
        cls, reader: IndexReader, allowed: Collection[int] | None = None, labels: Sequence[str] | None = None
    ) -> TitleIndex:
        """The titles of the live documents (of ``allowed`` only, when given: one language's);
        ``labels``: every document's title, when the caller has read them already."""
        if not reader.doc_count():
            return cls(())
        if labels is None:
            labels = [b.decode("utf-8", "surrogatepass") for b in byte_values(reader, "label")]
        slugs = byte_values(reader, "slug")
        live = reader.all_doc_ids()  # deleted documents are left out
        return cls((labels[d], slugs[d].decode("utf-8")) for d in live if allowed is None or d in allowed)

    def __len__(self) -> int:
        return len(self.titles)

    def completions(self, prefix: str) -> list[str]:
        """Title words starting with ``prefix`` (at most :data:`_MAX_COMPLETIONS`)."""
        words = self._words
        i = bisect.bisect_left(words, prefix)
        out: list[str] = []
        while i < len(words) and words[i].startswith(prefix) and len(out) < _MAX_COMPLETIONS:
            out.append(words[i])
            i += 1
        return out

    def _words_for(self, word: str, prefix: bool) -> list[str]:
        """The title words ``word`` stands for: itself or its completions, else one typo away
        (the spelling one typo away that the most titles use)."""
        found = self.completions(word) if prefix else ([word] if word in self._docs else [])
        if found or len(word) < (3 if prefix else 4):
            return found
        best: tuple[int, str] = (0, "")
        for variant in _edits(word):
            words = self.completions(variant) if prefix else ([variant] if variant in self._docs else [])
            if words:
                used = sum(len(self._docs[w]) for w in words)
                if (used, variant) > best:
                    best, found = (used, variant), words
        return found

    def suggest(self, text: str, limit: int = 8) -> list[Suggestion]:
        """Up to ``limit`` titles for what has been typed so far."""
        text = text[:_MAX_INPUT]
        words = WORD_RE.findall(fold(text))[-_MAX_WORDS:]
        limit = min(limit, MAX_SUGGESTIONS)
        if not words or limit <= 0:
            return []
        complete = not text[-1:].isalnum()  # "reset " : the last word is finished too
        per_word: list[set[int]] = []
        first_words: list[str] = []
        for i, word in enumerate(words):
            found = self._words_for(word, prefix=i == len(words) - 1 and not complete)
            if i == 0:
                first_words = found
            docs: set[int] = set()
            for w in found:
                docs.update(self._docs[w])
            if docs:
                per_word.append(docs)
        if not per_word:
            return []
        matched = set.intersection(*per_word)
        if not matched:  # no title has every word: those with the most of them
            counts: dict[int, int] = {}
            for docs in per_word:
                for d in docs:
                    counts[d] = counts.get(d, 0) + 1
            most = max(counts.values())
            matched = {d for d, n in counts.items() if n == most}
        leading: set[int] = set()
        for w in first_words:
            leading.update(self._leading.get(w, ()))
        best = heapq.nsmallest(limit, matched & leading)  # titles starting with the first word first
        if len(best) < limit:
            best += heapq.nsmallest(limit - len(best), matched - leading)
        return [Suggestion(self.titles[d], self.slugs[d]) for d in best]


class TitleIndexCache:
    """Builds a generation's :class:`TitleIndex` per language once, on first use, for all threads."""

    def __init__(self, labels: Callable[[IndexReader], Sequence[str]] | None = None) -> None:
        self._indexes: dict[str, TitleIndex] = {}
        self._lock = threading.Lock()
        self._labels = labels  # the generation's titles, read once for it (Generation.labels)

    def get(self, reader: IndexReader, language: str = "", allowed: Collection[int] | None = None) -> TitleIndex:
        """The titles a search in ``language`` may find (``allowed``: see :mod:`.languages`)."""
        found = self._indexes.get(language)
        if found is None:
            with self._lock:
                found = self._indexes.get(language)
                if found is None:
                    labels = self._labels(reader) if self._labels is not None else None
                    found = self._indexes[language] = TitleIndex.from_reader(reader, allowed, labels)
        return found
