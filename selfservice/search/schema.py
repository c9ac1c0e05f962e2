"""The index schema, and the analyzer that turns text into terms for every language.

One :class:`Analyzer` turns both articles and queries into terms, so they always agree: words
(whoosh's word pattern), lowercased, minus the language's stop words, stemmed with whoosh's
Snowball stemmer for that language, accents folded (``café`` finds ``cafe``). Every language
whoosh can stem works (``en`` by default; ``de``, ``es``, ``fr`` and a dozen more); another
language gets lowercased, unstemmed words rather than an error.

Why our own analyzer rather than a whoosh analyzer chain: whoosh runs a Python generator per
token through every filter, which made indexing 3.6k articles take most of a minute. Here the
tokenizing and lowercasing are single C-level calls and the per-word work (stop word, stem,
fold) is cached per distinct word, so whoosh receives ready-made term lists (its documented
way to index pre-analyzed text).

Every language version of an article is a document of its own (``key``: the slug, plus
``.<locale>`` for a translation), analyzed with its own language's :class:`Analyzer`; ``lang``
is that language and ``original`` marks the version that is not a translation, so a search in
one language can fall back to originals that have no version in it (:mod:`.languages`).

Fields: scored text in ``title``, ``keywords`` (front matter keywords + aliases), ``headings``,
``summary`` and ``body``; ``body`` keeps frequencies only, so scoring reads small postings, and
``passage`` keeps the body's positions for phrases. ``spell`` holds each article's distinct
unstemmed words: the vocabulary prefix search and typo correction read (a suggestion must be a
word, not a stem like ``configur``). A hit is shown from one small stored tuple; the body, capped at
:data:`SNIPPET_SOURCE_CHARS` and compressed, is a column of its own, read only for the
snippets and answers actually shown.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

from whoosh import fields, formats
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.lang import has_stemmer, has_stopwords, stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

from ..content import Article
from .grammar import WORD_RE

__all__ = [
    "SCHEMA_VERSION",
    "SEARCH_FIELDS",
    "PHRASE_FIELDS",
    "SNIPPET_SOURCE_CHARS",
    "Analyzer",
    "Analyzers",
    "Shown",
    "body_text",
    "build_schema",
    "doc_key",
    "document",
    "resolve_language",
    "stamp",
    "title_group",
]

#: Bump when the schema or the analysis changes: older indexes are then rebuilt by ``sync``.
SCHEMA_VERSION = 5
#: The scored text fields, each searched for every query word.
SEARCH_FIELDS = ("title", "keywords", "headings", "summary", "body")
#: Fields with positions, where phrases are looked for (``passage`` is the body's).
PHRASE_FIELDS = ("title", "keywords", "headings", "summary", "passage")
#: How much of a body is kept for snippets; matches further down still count for ranking.
SNIPPET_SOURCE_CHARS = 16_000
_MAX_WORD = 40

# NLTK's English stop words minus the ones that change a help question's meaning
# ("sign out", "turn off", "not syncing", "after update").
_KEEP_EN = frozenset(
    "up down off out on over under not no nor again against before after above below between "
    "same few more most only own all any once further".split()
)


def resolve_language(language: str) -> str:
    """``de_CH`` → ``de``, ``pt-BR`` → ``pt``."""
    return (language or "en").replace("-", "_").split("_")[0].lower()


class Analyzer:
    """Text → index terms for one language; thread-safe, with a bounded per-word cache."""

    def __init__(self, language: str) -> None:
        self.language = resolve_language(language)
        stops: frozenset[str] = frozenset()
        if has_stopwords(self.language):
            stops = frozenset(stopwords_for_language(self.language))
            if self.language == "en":
                stops -= _KEEP_EN
        self.stop_words = stops
        stem: Callable[[str], str] = stemmer_for_language(self.language) if has_stemmer(self.language) else str
        self._stem = stem
        self.term: Callable[[str], str | None] = functools.lru_cache(maxsize=200_000)(self._term)

    def _term(self, word: str) -> str | None:
        """One lowercased word → its term, or None for a stop word or an overlong token."""
        if word in self.stop_words or len(word) > _MAX_WORD:
            return None
        return self._stem(word).translate(accent_map)

    def words(self, text: str) -> list[str]:
        """Lowercased words of ``text``, stop words included (what a phrase is made of)."""
        return WORD_RE.findall(text.lower())

    def terms(self, text: str) -> list[str]:
        """The terms of ``text``, in order."""
        term = self.term
        return [t for w in WORD_RE.findall(text.lower()) if (t := term(w)) is not None]

    def vocabulary(self, text: str) -> list[str]:
        """Distinct unstemmed words worth suggesting (no stop words, 2–40 characters)."""
        stops = self.stop_words
        return sorted({w for w in WORD_RE.findall(text.lower()) if 1 < len(w) <= _MAX_WORD and w not in stops})


class Analyzers:
    """One :class:`Analyzer` per language, made on first use; ``None`` is the index's default."""

    def __init__(self, default: str) -> None:
        self.default = Analyzer(default)
        self._made = {self.default.language: self.default}

    def __call__(self, language: str | None) -> Analyzer:
        code = resolve_language(language) if language else self.default.language
        found = self._made.get(code)
        if found is None:
            found = self._made.setdefault(code, Analyzer(code))  # two threads: one wins, same result
        return found


def build_schema() -> fields.Schema:
    """The fields. Values are pre-analyzed term lists, so the analyzer here only splits spaces."""
    split = SpaceSeparatedTokenizer()
    return fields.Schema(
        key=fields.ID(unique=True, sortable=True),  # doc_key(): one document per language version
        slug=fields.ID(stored=True, sortable=True),
        lang=fields.ID(),  # the version's language (resolve_language of its locale)
        original=fields.ID(),  # "1" unless a translation
        stamp=fields.COLUMN(VarBytesColumn()),
        group=fields.COLUMN(NumericColumn("Q")),  # title_group(): results with one title are spread out
        label=fields.COLUMN(VarBytesColumn()),  # the title as UTF-8, read in bulk for suggestions
        text=fields.COLUMN(VarBytesColumn()),  # the body for snippets and answers, compressed: read per hit
        vector=fields.COLUMN(VarBytesColumn()),  # the re-ranker's title vector (rerank.TitleVectors), or b""
        title=fields.TEXT(analyzer=split, phrase=True),
        keywords=fields.TEXT(analyzer=split, phrase=True),
        headings=fields.TEXT(analyzer=split, phrase=True),
        summary=fields.TEXT(analyzer=split, phrase=True),
        body=fields.TEXT(analyzer=split, phrase=False),
        passage=fields.FieldType(formats.Positions(), split, scorable=True),  # lengths: whoosh stats a file per posting without
        spell=fields.FieldType(formats.Existence(), split, scorable=True),
        category=fields.ID(),
        tags=fields.KEYWORD(commas=True, lowercase=True),
        locale=fields.ID(),
        manual=fields.ID(),
        shown=fields.STORED(),
    )


class Shown:
    """What a hit shows, read back from the stored tuple; ``toc`` is ((anchor, heading text), …)."""

    __slots__ = ("title", "summary", "category", "toc", "lang")

    def __init__(self, stored: Any) -> None:
        self.title, self.summary, self.category, self.toc, self.lang = stored


def body_text(packed: bytes) -> str:
    """The body as stored in the ``text`` column (see :func:`document`)."""
    return zlib.decompress(packed).decode("utf-8", "surrogatepass") if packed else ""


def stamp(article: Article, model: str = "") -> bytes:
    """A digest of everything indexed from ``article``: ``sync`` re-indexes it when this changes.

    A content hash rather than ``mtime_ns``: a re-render (new markup version) or an article built
    in memory changes what is indexed without touching a file. The body counts through its
    ``body_key`` (a digest of it), so checking every article at start reads no body. ``model``
    names the title vectors written with it (``TitleVectors.model``, "" for none): turning a
    re-ranker on or changing it re-indexes the articles, which then get its vectors.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(str(SCHEMA_VERSION).encode())
    h.update(model.encode("utf-8", "surrogatepass") + b"\x1d")
    for part in (
        article.slug, article.title, article.summary, article.category, article.locale, article.manual or "",
        "t" if article.translation else "o",
        "\x1f".join(article.keywords), "\x1f".join(article.tags), article.body_key,
    ):  # fmt: skip
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.digest()


def title_group(title: str) -> int:
    """A 64-bit key shared by titles that read the same (case, punctuation and spacing aside)."""
    words = " ".join(WORD_RE.findall(title.lower()))
    return int.from_bytes(hashlib.blake2b(words.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def doc_key(article: Article) -> str:
    """The document's unique key: the slug, and for a translation ``<slug>.<locale>``."""
    return f"{article.slug}.{article.locale}" if article.translation else article.slug


def document(article: Article, analyzer: Analyzer, model: str = "", vector: bytes = b"") -> dict[str, Any]:
    """The whoosh document for ``article``, analyzed by ``analyzer`` (its language's), with
    ``vector``, its title's vector from the re-ranker that ``model`` names (see :func:`stamp`)."""
    headings = "\n".join(h.text for h in article.toc)
    keywords = "\n".join(article.keywords)
    body_terms = analyzer.terms(article.body_text)
    everything = "\n".join((article.title, keywords, headings, article.summary, article.body_text))
    text = article.body_text[:SNIPPET_SOURCE_CHARS].encode("utf-8", "surrogatepass")
    doc: dict[str, Any] = {
        "key": doc_key(article),
        "slug": article.slug,
        "lang": analyzer.language,
        "original": "0" if article.translation else "1",
        "stamp": stamp(article, model),
        "group": title_group(article.title),
        "title": analyzer.terms(article.title),
        "keywords": analyzer.terms(keywords),
        "headings": analyzer.terms(headings),
        "summary": analyzer.terms(article.summary),
        "body": body_terms,
        "passage": body_terms,
        "spell": analyzer.vocabulary(everything),
        "category": article.category,
        "tags": ",".join(article.tags),
        "locale": article.locale,
        "label": article.title.encode("utf-8", "surrogatepass"),
        "text": zlib.compress(text, 6) if text else b"",
        "vector": vector,
        "shown": (article.title, article.summary, article.category, tuple((h.id, h.text) for h in article.toc),
                  analyzer.language),
    }
    if article.manual:
        doc["manual"] = article.manual
    return doc
