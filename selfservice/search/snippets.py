"""Snippets: the passage of a body that best shows why it matched, as safe HTML.

The output is escaped text with the matched words wrapped in ``<mark>`` and nothing else, so a
template may insert it with ``|safe``. A passage is chosen by how many *different* query terms
it holds, then how many matches, then how early it starts; with no match in the body (a title
match), the body's opening is shown.

Speed matters here (ten snippets per results page), so the body is not re-analyzed word by
word: one regular expression over the lowercased text finds the words that *start like* a
query term (a stem is nearly always a prefix of its words, less its last letter: ``polici`` /
``policy``), and only those candidates are run through the analyzer to confirm they really
have that term. The scan stops at :data:`_MAX_MATCHES` matches, or as soon as one passage
holds every query term.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Iterator
from functools import lru_cache

__all__ = ["SNIPPET_CHARS", "Snippeter"]

SNIPPET_CHARS = 220  # about two lines of a results page
_CONTEXT = 40  # characters shown before the first match of the passage
_MAX_WORD_CHARS = 60
_MAX_MATCHES = 48  # matches collected per body
_FIRST_SCAN = 6_000  # characters searched first; the rest only if they hold no match


class Snippeter:
    """Makes snippets; ``term_of`` maps one word to its index term (or None for a stop word)."""

    def __init__(self, term_of: Callable[[str], str | None], size: int = SNIPPET_CHARS) -> None:
        self.term_of = lru_cache(maxsize=50_000)(term_of)
        self.size = size

    def __call__(self, text: str, terms: Collection[str]) -> str:
        if not text:
            return ""
        matches = self._matches(text, frozenset(terms)) if terms else []
        if not matches:
            end = _cut_end(text, 0, self.size)
            return html.escape(text[:end]) + (" …" if end < len(text) else "")
        start, end = self._window(text, matches)
        inside = [(s, e) for s, e, _ in matches if s >= start and e <= end]
        parts = ["… " if start > 0 else ""]
        pos = start
        for s, e in inside:
            parts.append(html.escape(text[pos:s]))
            parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
            pos = e
        parts.append(html.escape(text[pos:end]))
        parts.append(" …" if end < len(text) else "")
        return "".join(parts)

    def _matches(self, text: str, terms: frozenset[str]) -> list[tuple[int, int, str]]:
        lower = text.lower()
        folded = len(lower) == len(text)  # else (rare: "İ") offsets would shift: match case-blind
        pattern = _pattern(terms, folded)
        if pattern is None:
            return []
        out: list[tuple[int, int, str]] = []
        wanted = len(terms)
        last_seen: dict[str, int] = {}
        haystack = lower if folded else text
        for m in _scan(pattern, haystack, out):
            start = m.start()
            term = self.term_of(m.group() if folded else m.group().lower())
            if term not in terms:
                continue
            out.append((start, m.end(), term))
            last_seen[term] = start
            if len(out) >= _MAX_MATCHES:
                break
            if len(last_seen) == wanted and start - min(last_seen.values()) <= self.size - _CONTEXT:
                break  # one passage already holds every term: it cannot get better
        return out

    def _window(self, text: str, matches: list[tuple[int, int, str]]) -> tuple[int, int]:
        """The passage of about ``size`` characters with the most distinct terms."""
        best = (-1, -1, 0)
        best_at = 0
        j = 0
        for i, (s, _, _) in enumerate(matches):
            limit = s + self.size - _CONTEXT
            j = max(j, i)
            while j + 1 < len(matches) and matches[j + 1][1] <= limit:
                j += 1
            score = (len({t for _, _, t in matches[i : j + 1]}), j + 1 - i, -s)
            if score > best:
                best, best_at = score, i
        first = matches[best_at][0]
        start = _cut_start(text, max(0, first - _CONTEXT))
        return start, _cut_end(text, start, self.size)


def _scan(pattern: re.Pattern[str], text: str, found: list[tuple[int, int, str]]) -> Iterator[re.Match[str]]:
    """Matches in the first characters, and in the rest only if those had none."""
    yield from pattern.finditer(text, 0, _FIRST_SCAN)
    if not found and len(text) > _FIRST_SCAN:
        # restart a little early so a word cut at the boundary is found whole
        yield from pattern.finditer(text, max(0, _FIRST_SCAN - _MAX_WORD_CHARS))


@lru_cache(maxsize=512)
def _pattern(terms: frozenset[str], lowercased: bool) -> re.Pattern[str] | None:
    stems = sorted({t[:-1] if len(t) > 3 else t for t in terms if t}, key=len, reverse=True)
    if not stems:
        return None
    alternatives = "|".join(re.escape(s) for s in stems)
    flags = 0 if lowercased else re.IGNORECASE
    return re.compile(rf"\b(?:{alternatives})\w*(?:\.\w+)*", flags)


def _cut_start(text: str, pos: int) -> int:
    """Move ``pos`` forward to the start of a word (unless at the text start)."""
    if pos <= 0:
        return 0
    space = text.find(" ", pos, pos + 30)
    return space + 1 if space != -1 else pos


def _cut_end(text: str, start: int, size: int) -> int:
    """End a passage of at most ``size`` characters at a word boundary."""
    end = start + size
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", start + size // 2, end)
    return space if space != -1 else end
