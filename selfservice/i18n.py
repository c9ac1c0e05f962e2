"""The interface language: message catalogs, choosing a locale per request, the switcher.

The portal's own words ("Search", "Last updated", error pages) come from gettext catalogs
shipped in the package, ``selfservice/locale/<lang>/LC_MESSAGES/messages.mo``, compiled
from the ``.po`` files next to them (docs/i18n.md has the pybabel commands). English is
the source language and needs no catalog.

Each request gets one locale out of :attr:`Settings.supported_locales`, the first that
matches of:

1. the ``?lang=`` query parameter: what the language switcher links to; choosing a language
   this way also sets the ``lang`` cookie, so the choice sticks on the next pages;
2. the ``lang`` cookie;
3. the browser's ``Accept-Language`` header, negotiated with Babel;
4. ``Settings.locale``, the site's default.

Pages then carry ``Content-Language`` and, when the portal has more than one language,
``Vary: Accept-Language, Cookie`` (see :func:`page_headers`), and the page cache keeps one
copy per locale.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.support import Translations
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "COOKIE",
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "QUERY",
    "SOURCE_LANGUAGE",
    "Choice",
    "LanguageChoice",
    "catalog_locales",
    "choose",
    "has_catalog",
    "language_name",
    "language_of",
    "languages",
    "match",
    "page_headers",
    "parse_accept_language",
    "remember_choice",
    "request_locale",
    "same_language",
    "tag",
    "translations",
    "translator",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the msgids are English: English needs no catalog
QUERY = "lang"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 86400
_SCOPE_KEY = "selfservice.locale"


@dataclass(frozen=True, slots=True)
class Choice:
    """The locale of one request and where it came from: query, cookie, header or default."""

    locale: str
    source: str


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """One entry of the language switcher: ``name`` is the language in itself ("Deutsch")."""

    code: str  # de, en_GB
    tag: str  # de, en-GB: for lang= and hreflang=
    name: str
    href: str
    current: bool


# -- catalogs -----------------------------------------------------------------------------


def catalog_locales(folder: Path = LOCALE_DIR) -> tuple[str, ...]:
    """The locales with a compiled catalog in ``folder``."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.name for p in folder.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()))


def has_catalog(locale: str) -> bool:
    """Whether the interface can speak ``locale``: English, or a catalog for it or its language."""
    if language_of(locale) == SOURCE_LANGUAGE:
        return True
    known = catalog_locales()
    return _norm(locale) in known or language_of(locale) in known


@functools.lru_cache(maxsize=32)
def translations(locale: str) -> gettext.NullTranslations:
    """The catalog for ``locale`` (``de_CH`` falls back to ``de``); English: no translation.

    Catalogs are read-only package data, so they are loaded once per process.
    """
    return Translations.load(str(LOCALE_DIR), [_norm(locale)], DOMAIN)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it where it is shown."""
    return message


def translator(request: Request) -> gettext.NullTranslations:
    """The catalog for this request's locale: ``_ = translator(request).gettext``."""
    return translations(request_locale(request))


# -- locale names and matching -------------------------------------------------------------


def _norm(value: str) -> str:
    """``de-ch`` → ``de_CH``: the form Babel and gettext use."""
    lang, _, region = value.strip().replace("-", "_").partition("_")
    return f"{lang.lower()}_{region.upper() if len(region) == 2 else region}" if region else lang.lower()


def tag(locale: str) -> str:
    """The BCP 47 tag for HTML and HTTP: ``en_GB`` → ``en-GB``."""
    return _norm(locale).replace("_", "-")


def language_of(locale: str) -> str:
    return _norm(locale).partition("_")[0]


def same_language(a: str, b: str) -> bool:
    return language_of(a) == language_of(b)


@functools.lru_cache(maxsize=256)
def language_name(locale: str, in_locale: str | None = None) -> str:
    """``de`` → "Deutsch" (the language in itself), or in ``in_locale``: ``de`` in ``en`` → "German"."""
    try:
        loc = Locale.parse(_norm(locale))
        name = loc.get_language_name(Locale.parse(_norm(in_locale)) if in_locale else loc) or locale
    except (UnknownLocaleError, ValueError):
        return locale
    return name[:1].upper() + name[1:]


def match(value: str | None, supported: Sequence[str]) -> str | None:
    """The supported locale ``value`` asks for: the same locale, else the same language."""
    if not value or len(value) > 35:
        return None
    wanted = _norm(value)
    for code in supported:
        if _norm(code) == wanted:
            return code
    for code in supported:
        if same_language(code, wanted):
            return code
    return None


def parse_accept_language(header: str) -> list[str]:
    """``Accept-Language`` → locales best first (``de_CH``, ``de``, ``en``); q=0 and ``*`` are dropped."""
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:32]):
        name, _, params = part.strip().partition(";")
        name = name.strip()
        if not name or name == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, i, _norm(name)))
    return [name for _q, _i, name in sorted(weighted)]


def _negotiate(header: str, supported: Sequence[str]) -> str | None:
    """Babel's negotiation, offering each supported locale and its bare language."""
    available = [*supported, *(language_of(code) for code in supported)]
    found = negotiate_locale(parse_accept_language(header), available, sep="_")
    return match(found, supported) if found else None


def choose(request: Request, supported: Sequence[str]) -> Choice:
    """Query, then cookie, then ``Accept-Language``, then the default (``supported[0]``)."""
    if len(supported) == 1:
        return Choice(supported[0], "default")
    # Asked on every request: look at the query string and cookies only when there are any.
    if request.scope.get("query_string"):
        from_query = match(request.query_params.get(QUERY), supported)
        if from_query:
            return Choice(from_query, "query")
    headers = request.headers
    if "cookie" in headers:
        from_cookie = match(request.cookies.get(COOKIE), supported)
        if from_cookie:
            return Choice(from_cookie, "cookie")
    header = headers.get("accept-language")
    from_header = _negotiate(header, supported) if header else None
    if from_header:
        return Choice(from_header, "header")
    return Choice(supported[0], "default")


def request_locale(request: Request) -> str:
    """The locale of this request, chosen once and kept in the ASGI scope."""
    found = request.scope.get(_SCOPE_KEY)
    if not isinstance(found, Choice):
        from .state import portal_state

        found = choose(request, portal_state(request).supported_locales)
        request.scope[_SCOPE_KEY] = found
    return found.locale


# -- pages and responses -------------------------------------------------------------------


def languages(request: Request, supported: Sequence[str], query: Mapping[str, str] | None = None) -> list[LanguageChoice]:
    """The language switcher: this page in every supported language (empty with one language).

    Links keep ``query`` (without ``lang``); cached pages pass none, so a visitor's query
    string never ends up in a page shared with others.
    """
    if len(supported) < 2:
        return []
    current = request_locale(request)
    rest = {k: v for k, v in (query or {}).items() if k != QUERY}
    return [
        LanguageChoice(code, tag(code), language_name(code), f"{request.url.path}?{urlencode({**rest, QUERY: code})}", code == current)
        for code in supported
    ]


def page_headers(locale: str, supported: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Headers that belong with a page rendered in ``locale`` (and so may be cached with it)."""
    headers = [("content-language", tag(locale))]
    if len(supported) > 1:
        headers.append(("vary", "Accept-Language, Cookie"))
    return tuple(headers)


def remember_choice(request: Request, response: Response) -> None:
    """Set the ``lang`` cookie when the visitor picked a language with ``?lang=``.

    The cookie is for the portal's own path only and lasts a year; it is not secret
    (``HttpOnly`` since no script needs it).
    """
    found = request.scope.get(_SCOPE_KEY)
    if not isinstance(found, Choice) or found.source != "query" or request.cookies.get(COOKIE) == found.locale:
        return
    root = str(request.scope.get("root_path", "")).rstrip("/")
    response.set_cookie(
        COOKIE,
        found.locale,
        max_age=COOKIE_MAX_AGE,
        path=root + "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
