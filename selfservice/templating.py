"""The Jinja environment: one documented template lookup order, autoescaping, date filters.

Lookup order for a template name such as ``article.html`` — the first folder that has the
file wins:

1. the host's folders, ``Settings.template_dirs``, in the order given;
2. the theme's ``templates/`` folder, then its parent theme's, and so on up the chain;
3. the package default, ``selfservice/templates/``.

Two prefixes skip part of that order, so an override can extend what it replaces instead
of copying it (the Datasette model)::

    {% extends "default:article.html" %}   {# always the package default #}
    {% extends "theme:article.html" %}     {# the theme chain, then the default: no host folders #}

A host therefore overrides one block, not a whole page. ``selfservice templates`` (see
:func:`which_templates`) prints which file wins for every name and which files it shadows.

Every template is autoescaped whatever its extension. Undefined names are errors
(``StrictUndefined``): a typo such as ``{{ artcle.title }}`` fails loudly the first time the
page renders instead of silently printing nothing to customers; write
``{{ value|default("") }}`` or ``{% if value is defined %}`` for something truly optional.
Templates are compiled once and cached; they are re-read on change only in writers' watch
mode (``Settings.watch``) or when ``auto_reload=True`` is passed.

Interface text goes through gettext (``jinja2.ext.i18n``, new-style): ``{{ _("Search") }}``,
``{{ _("Search the %(site)s articles", site=site.name) }}`` and
``{{ ngettext("%(num)s article", "%(num)s articles", n) }}``, and ``pgettext(context, text)``
where one English word needs two translations; ``{{ label|translate }}`` for an English
string that comes from Python (marked there with ``N_``). The catalog follows the page's
``locale`` (see :mod:`selfservice.i18n`), and so do the ``date`` and ``number`` filters;
a template rendered without a ``locale`` (an email) uses ``Settings.locale``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from .errors import TemplateError
from .i18n import translations
from .settings import Settings
from .theming import PACKAGE_DIR, Theme, stylesheets

__all__ = [
    "DEFAULT_TEMPLATES",
    "PortalLoader",
    "TemplateChoice",
    "TemplateNotFoundError",
    "build_environment",
    "format_day",
    "format_number",
    "search_path",
    "which_templates",
]

DEFAULT_TEMPLATES = PACKAGE_DIR / "templates"
_PREFIXES = ("default", "theme")


class TemplateNotFoundError(TemplateError, jinja2.TemplateNotFound):
    """No folder of the lookup order has the template; the message lists the folders searched.

    It is a Jinja ``TemplateNotFound`` too, so ``{% include "x.html" ignore missing %}`` works.
    """

    def __init__(self, name: str, folders: Iterable[Path]) -> None:
        where = ", ".join(str(f) for f in folders) or "no folders"
        jinja2.TemplateNotFound.__init__(self, name, f"template {name!r} is in none of: {where}")


@dataclass(frozen=True, slots=True)
class TemplateChoice:
    """Which file serves a template name, and the files of later folders it hides."""

    name: str
    winner: Path
    shadowed: tuple[Path, ...] = ()


def search_path(settings: Settings, theme: Theme) -> tuple[tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]:
    """(host folders, theme chain folders, default folder): the lookup order, in parts."""
    host = tuple(Path(p) for p in settings.template_dirs)
    themed = tuple(d for d in theme.template_dirs if d.resolve() != DEFAULT_TEMPLATES)
    return host, themed, (DEFAULT_TEMPLATES,)


class PortalLoader(jinja2.BaseLoader):
    """Loads plain names along the full lookup order and ``default:``/``theme:`` names along part of it."""

    def __init__(self, host: Iterable[Path], themed: Iterable[Path], default: Iterable[Path]) -> None:
        self.host, self.themed, self.default = tuple(host), tuple(themed), tuple(default)
        self._loaders: dict[tuple[Path, ...], jinja2.FileSystemLoader] = {}

    def folders(self, prefix: str | None) -> tuple[Path, ...]:
        """The folders searched for a name with ``prefix`` (None: no prefix), in order."""
        if prefix == "default":
            return self.default
        if prefix == "theme":
            return (*self.themed, *self.default)
        return (*self.host, *self.themed, *self.default)

    @staticmethod
    def split(name: str) -> tuple[str | None, str]:
        prefix, sep, rest = name.partition(":")
        return (prefix, rest) if sep and prefix in _PREFIXES else (None, name)

    def _loader(self, folders: tuple[Path, ...]) -> jinja2.FileSystemLoader:
        loader = self._loaders.get(folders)
        if loader is None:
            loader = self._loaders[folders] = jinja2.FileSystemLoader([str(f) for f in folders], encoding="utf-8")
        return loader

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        prefix, name = self.split(template)
        folders = self.folders(prefix)
        try:
            return self._loader(folders).get_source(environment, name)
        except jinja2.TemplateNotFound:
            raise TemplateNotFoundError(template, folders) from None

    def list_templates(self) -> list[str]:
        return sorted(set(self._loader(self.folders(None)).list_templates()))


def _babel_locale(value: str) -> Locale:
    return _parse_locale(value.replace("-", "_"))


@functools.lru_cache(maxsize=64)
def _parse_locale(value: str) -> Locale:
    try:
        return Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        language = value.split("_")[0]
        try:
            return Locale.parse(language)
        except (UnknownLocaleError, ValueError):
            return Locale.parse("en")


def _as_date(value: object) -> date | None:
    if value is None or value == "" or isinstance(value, jinja2.Undefined):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def format_day(value: object, locale: str = "en", style: str = "long") -> str:
    """A date for people in ``locale``: ``en_GB`` → "14 October 2026", ``en`` → "October 14, 2026".

    Accepts a ``date``, a ``datetime`` or an ISO string; anything else gives "".
    """
    day = _as_date(value)
    return "" if day is None else str(format_date(day, format=style, locale=_babel_locale(locale)))


def format_number(value: object, locale: str = "en") -> str:
    """A number for people in ``locale``: 12345.5 → "12,345.5" (``en``), "12.345,5" (``de``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):  # counts on every search page: Babel's formatting is slow, ints repeat
        return _format_int(value, locale)
    return str(format_decimal(value, locale=_babel_locale(locale)))


@functools.lru_cache(maxsize=4096)
def _format_int(value: int, locale: str) -> str:
    return str(format_decimal(value, locale=_babel_locale(locale)))


def format_moment(value: object, locale: str = "en", zone: tzinfo = timezone.utc) -> str:
    """A date and time for people in ``locale``, in ``zone`` and naming it:
    "Nov 23, 2026, 5:30 PM UTC" (``en``), "23.11.2026, 17:30 UTC" (``de``).

    Naive datetimes are taken as UTC (the store writes UTC); a bare date or anything
    else falls back to :func:`format_day`.
    """
    if not isinstance(value, datetime):
        return format_day(value, locale, "medium")
    instant = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    local, loc = instant.astimezone(zone), _babel_locale(locale)
    both = str(loc.datetime_formats["medium"])  # the locale's "{1}, {0}": date, then time
    text = both.replace("{1}", str(format_date(local, "medium", locale=loc))).replace("{0}", str(format_time(local, "short", locale=loc)))
    return f"{text} {local.tzname()}"


def _isoinstant(value: object) -> str:
    """``2026-10-14T17:30:00+00:00`` for ``<time datetime=...>`` (naive means UTC); else like ``isodate``."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")
    return _isodate(value)


def _isodate(value: object) -> str:
    """``2026-10-14`` for ``<time datetime=...>``; "" when there is no date."""
    day = _as_date(value)
    return day.isoformat() if day is not None else ""


def build_environment(
    settings: Settings, theme: Theme, *, auto_reload: bool | None = None, zone: tzinfo | None = None
) -> jinja2.Environment:
    """The Jinja environment for a portal: lookup order, autoescape, filters and globals.

    ``auto_reload`` defaults to ``settings.watch``: in production templates are compiled
    once and cached; in writers' watch mode a saved template shows on the next request.
    ``zone`` is where the ``moment`` filter shows times (default: ``settings.business_hours``'
    zone, else UTC).
    """
    host, themed, default = search_path(settings, theme)
    env = jinja2.Environment(
        loader=PortalLoader(host, themed, default),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=settings.watch if auto_reload is None else auto_reload,
        cache_size=400,
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        extensions=["jinja2.ext.i18n"],
    )
    site_locale = settings.locale

    def page_locale(context: jinja2.runtime.Context) -> str:
        """The page's ``locale``, else the site's: what gettext, dates and numbers follow."""
        locale = context.get("locale")
        if isinstance(locale, str) and locale:
            return locale
        site = context.get("site")
        return str(getattr(site, "locale", None) or site_locale)

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, message: str) -> str:
        return translations(page_locale(context)).gettext(message)

    @jinja2.pass_context
    def ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int) -> str:
        return translations(page_locale(context)).ngettext(singular, plural, n)

    @jinja2.pass_context
    def pgettext(context: jinja2.runtime.Context, msgctxt: str, message: str) -> str:
        return translations(page_locale(context)).pgettext(msgctxt, message)

    @jinja2.pass_context
    def npgettext(context: jinja2.runtime.Context, msgctxt: str, singular: str, plural: str, n: int) -> str:
        return translations(page_locale(context)).npgettext(msgctxt, singular, plural, n)

    @jinja2.pass_context
    def translate_filter(context: jinja2.runtime.Context, message: object) -> str:
        """``{{ label|translate }}``: an English string from Python (marked with ``N_``) in the
        page's language; unlike ``_()`` it is not a %-format, so a host's "50%" stays intact."""
        return translations(page_locale(context)).gettext(str(message)) if message else ""

    @jinja2.pass_context
    def date_filter(context: jinja2.runtime.Context, value: object, style: str = "long", locale: str | None = None) -> str:
        return format_day(value, locale or page_locale(context), style)

    if zone is None:  # the portal passes its opening hours' zone (also the demo's); else from settings
        zone = timezone.utc
        if settings.business_hours is not None:
            from .hours import parse_business_hours

            zone = parse_business_hours(settings.business_hours).zone

    @jinja2.pass_context
    def moment_filter(context: jinja2.runtime.Context, value: object, locale: str | None = None) -> str:
        return format_moment(value, locale or page_locale(context), zone)

    @jinja2.pass_context
    def number_filter(context: jinja2.runtime.Context, value: object, locale: str | None = None) -> str:
        return format_number(value, locale or page_locale(context))

    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext
    )
    env.filters["date"] = date_filter
    env.filters["translate"] = translate_filter
    env.filters["number"] = number_filter
    env.filters["isodate"] = _isodate
    env.filters["moment"] = moment_filter
    env.filters["isoinstant"] = _isoinstant
    env.globals["theme"] = theme
    env.globals["stylesheets"] = stylesheets(theme, settings.theme_variables)
    return env


def which_templates(settings: Settings, theme: Theme) -> list[TemplateChoice]:
    """For every template name in any folder of the lookup order: the winner and what it shadows."""
    host, themed, default = search_path(settings, theme)
    found: dict[str, list[Path]] = {}
    for folder in (*host, *themed, *default):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                found.setdefault(rel.as_posix(), []).append(path)
    return [TemplateChoice(name, paths[0], tuple(paths[1:])) for name, paths in sorted(found.items())]

