"""The customer query grammar: a small, forgiving language parsed into a tiny syntax tree.

Customers type into a search box; they do not write query syntax. So the grammar is small and
*never fails*: anything it does not understand is read as plain words or dropped. What it knows:

- ``word``: a word (documents with more of the words rank higher);
- ``"two words"``: a phrase; an unbalanced ``"`` is ignored;
- ``-word`` / ``-"two words"``: leave out documents that contain it;
- ``a OR b`` (also ``|``): either one, as one clause of the query;
- ``pre*``: words starting with ``pre`` (at least two characters before the ``*``).

``title:x`` is two words (with a note saying so), parentheses and a bare ``*`` are dropped,
``AND``/``NOT`` are words.
NUL and other control characters are removed, the text is NFKC-normalized (full-width letters,
ligatures), and the result is capped at ``max_length`` characters and ``max_terms`` words, with
a note the customer can read. Whoosh never sees the customer's text as query syntax: the tree
is turned into whoosh query objects in :mod:`selfservice.search.query`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["FIELD_NOTE", "AnyOf", "Clause", "ParsedQuery", "Phrase", "Word", "parse_query", "WORD_RE"]

#: The word pattern of whoosh's default tokenizer, so that our word count is its term count.
WORD_RE = re.compile(r"\w+(?:\.?\w+)*")
MIN_PREFIX = 2  # ``a*`` would expand to most of the vocabulary
_LEX = re.compile(r'(?P<space>\s+)|(?P<phrase>-?"[^"]*")|(?P<quote>")|(?P<token>[^\s"]+)')
_OR_TOKENS = frozenset({"OR", "|", "||"})
_FIELD_NAMES = (
    "title|body|text|content|summary|keywords?|tags?|category|manual|locale|lang|author|slug|url|site"
    "|intitle|inurl|intext|filetype|subject|label|from|to|in|is|has|before|after"
)  # what search engines and mail apps taught customers; "error:0x80" stays quiet
_FIELD_LIKE = re.compile(rf"(?<![\w:/])({_FIELD_NAMES}):(?=[\w\"])", re.IGNORECASE)
FIELD_NOTE = "Searching one field ({field}) is not supported: all words were searched everywhere."
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "＂": '"'})


@dataclass(frozen=True, slots=True)
class Word:
    """One word as typed (not yet lowercased or stemmed); ``prefix`` for ``word*``."""

    text: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words that must appear next to each other, in this order."""

    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``a OR b OR "c d"``: one clause that any of its options satisfies."""

    options: tuple[Word | Phrase, ...]


Clause = Word | Phrase | AnyOf


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """What the customer asked for, bounded: clauses to find, things to leave out, notes."""

    text: str  # the cleaned query text (control characters removed, capped)
    include: tuple[Clause, ...] = ()
    exclude: tuple[Word | Phrase, ...] = ()
    notes: tuple[str, ...] = field(default=())  # customer-facing remarks about what was ignored

    @property
    def words(self) -> list[Word]:
        """Every included word, in order, including those inside OR groups (not phrases)."""
        out: list[Word] = []
        for clause in self.include:
            for option in clause.options if isinstance(clause, AnyOf) else (clause,):
                if isinstance(option, Word):
                    out.append(option)
        return out

    def __bool__(self) -> bool:
        return bool(self.include)


def clean(text: str, max_length: int) -> tuple[str, bool]:
    """NFKC, no control characters, single spaces, at most ``max_length`` characters."""
    # Cap before normalizing too, so that 10 MB of input costs no more than max_length * 4.
    text = unicodedata.normalize("NFKC", text[: max_length * 4])
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    return (text[:max_length].rstrip(), True) if len(text) > max_length else (text, False)


def _pieces(token: str) -> list[str]:
    return WORD_RE.findall(token)


def parse_query(text: str, max_terms: int = 32, max_length: int = 512) -> ParsedQuery:
    """Parse customer text into a :class:`ParsedQuery`; never raises on any input."""
    cleaned, cut = clean(text.translate(_QUOTES), max_length)
    notes: list[str] = []
    if cut:
        notes.append(f"Only the first {max_length} characters of your search were used.")
    field_like = _FIELD_LIKE.search(cleaned)
    if field_like:
        notes.append(FIELD_NOTE.format(field=field_like.group(1) + ":"))
    items: list[Word | Phrase | str | tuple[str, Word | Phrase]] = []  # str: "OR"; tuple: ("-", x)
    budget = max_terms
    dropped = False
    for m in _LEX.finditer(cleaned):
        kind = m.lastgroup
        raw = m.group()
        if kind in ("space", "quote"):
            continue
        if kind == "token" and raw.strip("()[]{}") in _OR_TOKENS:
            items.append("OR")
            continue
        negate = raw.startswith("-") and len(raw) > 1
        body = raw[1:] if negate else raw
        node: Word | Phrase | list[Word] | None
        if kind == "phrase":
            words = _pieces(body.strip('"'))
            node = Phrase(tuple(words)) if len(words) > 1 else (Word(words[0]) if words else None)
        else:
            words = _pieces(body)
            prefix = bool(words) and body.endswith("*") and body.rstrip("*").endswith(words[-1])
            if prefix and len(words[-1]) < MIN_PREFIX:
                prefix = False
            if negate and len(words) > 1:
                node = Phrase(tuple(words))  # -e-mail leaves out the phrase "e mail"
            else:
                node = [Word(w, prefix=prefix and i == len(words) - 1) for i, w in enumerate(words)]
        if not node:
            continue
        size = len(node) if isinstance(node, list) else len(node.words) if isinstance(node, Phrase) else 1
        if size > budget:
            dropped = True
            if isinstance(node, list) and budget > 0:
                node = node[:budget]
                size = budget
            else:
                break
        budget -= size
        if isinstance(node, list):
            if negate:
                items.extend(("-", w) for w in node)
            else:
                items.extend(node)
        else:
            items.append(("-", node) if negate else node)
        if budget == 0:
            dropped = dropped or m.end() < len(cleaned.rstrip())
            break
    if dropped:
        notes.append(f"Only the first {max_terms} words were used.")
    include, exclude = _group(items)
    return ParsedQuery(cleaned, tuple(include), tuple(exclude), tuple(notes))


def _group(items: list[Word | Phrase | str | tuple[str, Word | Phrase]]) -> tuple[list[Clause], list[Word | Phrase]]:
    """Join ``a OR b`` into :class:`AnyOf`; an OR without a clause on both sides is dropped."""
    include: list[Clause] = []
    exclude: list[Word | Phrase] = []
    pending_or = False
    for item in items:
        if isinstance(item, tuple):
            exclude.append(item[1])
            pending_or = False
        elif isinstance(item, str):
            pending_or = bool(include)
        else:
            if pending_or:
                prev = include.pop()
                options = prev.options if isinstance(prev, AnyOf) else (prev,)
                include.append(AnyOf((*options, item)))
            else:
                include.append(item)
            pending_or = False
    return include, exclude
