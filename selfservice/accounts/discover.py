"""Finding account actions from what a customer types: "forgot my password" → Reset your password.

Search results are articles; a customer who types "where is my order" usually wants the
order tracker, not an article about it. Each :class:`~.actions.AccountAction` carries
``keywords`` (short phrases such as ``"can't log in"``); an action matches a query when every
meaningful word of one of its phrases is in the query. Words are compared after a small,
predictable normalisation — lower case, apostrophes and contractions undone ("can't" →
"cannot"), a handful of filler words dropped, and a light suffix stemmer ("tracking",
"tracked" → "track"; "invoices" → "invoic") — rather than the search index's analyzer, so
the matcher is pure Python, instant and the same in every language pack. An action without
keywords is matched on its title.

Audience: an action for signed-in customers still matches an anonymous visitor (it is the
answer to their question; its page asks them to sign in first), and :func:`needs_sign_in`
says so, so the link can read "sign in needed". An action for signed-out visitors only (the
username reminder) is left out for a signed-in customer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from .actions import AccountAction

__all__ = ["MAX_MATCHES", "depends_on_sign_in", "match_actions", "needs_sign_in", "phrase_words", "words"]

MAX_MATCHES = 3
_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_CONTRACTIONS = {
    "can't": "cannot", "cant": "cannot", "can not": "cannot", "won't": "will not", "don't": "do not",
    "doesn't": "does not", "didn't": "did not", "isn't": "is not", "haven't": "have not", "i've": "i have",
    "i'm": "i am", "it's": "it is", "where's": "where is", "what's": "what is", "couldn't": "could not",
}
_CONTRACTION = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(_CONTRACTIONS, key=len, reverse=True)) + r")\b")
# Filler that says nothing about which action is meant. "not", "where", "change" and the
# like stay: they tell actions apart.
_STOP = frozenset(
    "a an and are am be been by do does for from have help how i in into is it me my myself of on or our "
    "please the this to up us was we what when which who why will with would you your yours can could should "
    "need want get got".split()
)


def _stem(word: str) -> str:
    """A deliberately small English suffix stripper: equal stems for the usual inflections."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":  # "shipp" → "ship"
                word = word[:-1]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The meaningful, stemmed words of ``text`` in order (filler words dropped)."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group(1)], folded)
    folded = folded.replace("'", "")
    return [_stem(w) for w in _WORD.findall(folded) if w not in _STOP]


def phrase_words(action: AccountAction) -> tuple[frozenset[str], ...]:
    """The word sets an action answers to: its keywords, else its title."""
    return _phrase_words(tuple(action.keywords) or (action.title,))


@lru_cache(maxsize=512)
def _phrase_words(phrases: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """Normalised once per set of phrases, not on every search."""
    return tuple(ws for ws in (frozenset(words(p)) for p in phrases) if ws)


def match_actions(query: str, actions: Iterable[AccountAction], *, signed_in: bool | None = None,
                  limit: int = MAX_MATCHES) -> list[AccountAction]:
    """The actions ``query`` asks for, best first (at most ``limit``).

    An action's score is the number of words of its best fully matched phrase, then how
    many of its phrases matched; ties go by the menu ``order``. ``signed_in=True`` leaves
    out actions for signed-out visitors; ``False`` or ``None`` (unknown) keeps every action.
    """
    asked = set(words(query[:1000]))
    if not asked:
        return []
    scored = []
    for action in actions:
        if signed_in is True and action.audience == "signed_out":
            continue
        hits = [len(ws) for ws in phrase_words(action) if ws <= asked]
        if hits:
            scored.append((-max(hits), -len(hits), action.order, action.slug, action))
    scored.sort(key=lambda row: row[:4])
    return [row[-1] for row in scored[:limit]]


def needs_sign_in(action: AccountAction, signed_in: bool | None) -> bool:
    """True when the action's page will ask this visitor to sign in first."""
    return action.audience == "signed_in" and signed_in is not True


def depends_on_sign_in(actions: Sequence[AccountAction]) -> bool:
    """Whether any of ``actions`` depends on who is signed in (worth asking the backend)."""
    return any(a.audience != "everyone" for a in actions)
