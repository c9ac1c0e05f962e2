"""The interface in more than one language: catalogs, choosing a locale, headers, caching,
translated articles, dates and numbers (selfservice/i18n.py, docs/i18n.md)."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import jinja2
import pytest
from babel.dates import format_date
from babel.messages import extract, frontend, mofile, pofile
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from selfservice import Portal, Settings, create_portal
from selfservice.content import load_library
from selfservice.errors import SettingsError
from selfservice.i18n import (
    LOCALE_DIR,
    catalog_locales,
    language_name,
    match,
    parse_accept_language,
)
from selfservice.templating import build_environment, format_day, format_moment, format_number
from selfservice.theming import load_theme
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parent.parent
PO = LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po"
MO = LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.mo"
DE = {"accept-language": "de-DE,de;q=0.9,en;q=0.5"}


@contextlib.contextmanager
def _built(settings: Settings) -> Iterator[Portal]:
    """A portal for content pages only: no lifespan (no database); its index closed after."""
    portal = create_portal(settings)
    try:
        yield portal
    finally:
        portal.ss.index.close()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[Portal]:
    data = tmp_path_factory.mktemp("i18n-data")
    with _built(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=data, site_name="Larkspur Help")) as portal:
        yield portal


@pytest.fixture(scope="module")
def module_client(portal: Portal) -> TestClient:
    return TestClient(Starlette(routes=[Mount("/help", app=portal)]))


@pytest.fixture()
def client(module_client: TestClient) -> TestClient:
    """A client without a language cookie from an earlier test."""
    module_client.cookies.clear()
    return module_client


def _lang(html: str) -> str:
    m = re.search(r'<html lang="([^"]+)"', html)
    assert m, "no <html lang>"
    return m.group(1)


# -- choosing the language -----------------------------------------------------------------


def test_english_by_default_with_content_language_and_vary(client: TestClient) -> None:
    r = client.get("/help/")
    assert r.status_code == 200 and _lang(r.text) == "en"
    assert "How can we help?" in r.text and "Skip to main content" in r.text
    assert r.headers["content-language"] == "en"
    vary = [v.strip() for v in r.headers["vary"].split(",")]
    assert {"Accept-Encoding", "Accept-Language", "Cookie"} <= set(vary)
    assert "set-cookie" not in r.headers


def test_accept_language_de_gives_german(client: TestClient) -> None:
    r = client.get("/help/", headers=DE)
    assert _lang(r.text) == "de" and r.headers["content-language"] == "de"
    assert "Wie können wir helfen?" in r.text and "Zum Hauptinhalt springen" in r.text
    assert "How can we help?" not in r.text
    assert "set-cookie" not in r.headers  # negotiated, not chosen: nothing to remember


def test_query_picks_the_language_and_sets_the_cookie(client: TestClient) -> None:
    r = client.get("/help/?lang=de")
    assert _lang(r.text) == "de" and "Nach Thema stöbern" in r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("lang=de;") and "Path=/help/" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    # the cookie now keeps German on the next pages, without the query
    later = client.get("/help/search")
    assert _lang(later.text) == "de" and "<h1 class=\"ss-page-header__title\">Suche</h1>" in later.text
    assert "set-cookie" not in later.headers


def test_cookie_gives_german_and_beats_accept_language(client: TestClient) -> None:
    client.cookies.set("lang", "de")
    r = client.get("/help/search", headers={"accept-language": "en-US,en;q=0.9"})
    assert _lang(r.text) == "de" and "Alle Artikel durchsuchen" in r.text


def test_query_beats_cookie_and_switching_back_rewrites_the_cookie(client: TestClient) -> None:
    client.cookies.set("lang", "de")
    r = client.get("/help/?lang=en", headers=DE)
    assert _lang(r.text) == "en" and "How can we help?" in r.text
    assert r.headers["set-cookie"].startswith("lang=en;")


@pytest.mark.parametrize(
    "headers, url",
    [
        ({"accept-language": "fr-FR,fr;q=0.9,ja;q=0.5"}, "/help/"),
        ({}, "/help/?lang=xx"),
        ({}, "/help/?lang=fr"),
        ({"cookie": "lang=klingon"}, "/help/"),
        ({"accept-language": "*;q=0.9, de;q=0"}, "/help/"),
        ({"accept-language": "garbage;;;q=x,,"}, "/help/"),
    ],
)
def test_unsupported_languages_fall_back_to_english(client: TestClient, headers: dict[str, str], url: str) -> None:
    r = client.get(url, headers=headers)
    assert r.status_code == 200 and _lang(r.text) == "en" and "How can we help?" in r.text
    assert "set-cookie" not in r.headers


def test_regional_and_weighted_preferences(client: TestClient) -> None:
    assert _lang(client.get("/help/", headers={"accept-language": "de-CH"}).text) == "de"
    assert _lang(client.get("/help/", headers={"accept-language": "fr;q=1, de;q=0.8, en;q=0.5"}).text) == "de"
    assert _lang(client.get("/help/", headers={"accept-language": "en;q=0.9, de;q=0.8"}).text) == "en"
    assert _lang(client.get("/help/?lang=de-AT").text) == "de"


def test_accept_language_parsing_and_matching() -> None:
    assert parse_accept_language("en;q=0.5, de-CH, fr;q=0.8, *;q=0.1, it;q=0") == ["de_CH", "fr", "en"]
    assert match("de-ch", ["en", "de"]) == "de"
    assert match("EN-gb", ["en_GB", "de"]) == "en_GB"
    assert match("en", ["en_GB", "de"]) == "en_GB"
    assert match("fr", ["en", "de"]) is None and match("", ["en"]) is None
    assert language_name("de") == "Deutsch" and language_name("de", "en") == "German"
    assert language_name("en", "de") == "Englisch"


# -- the page cache keeps one copy per language ----------------------------------------------


@pytest.mark.parametrize("path", ["/help/", "/help/a/refunds", "/help/c/billing-and-payments", "/help/m/larkspur-hub/3.x/"])
def test_cached_pages_do_not_leak_between_languages(client: TestClient, path: str) -> None:
    german = client.get(path, headers=DE)
    english = client.get(path)
    german_again = client.get(path, headers=DE)
    assert _lang(german.text) == "de" and _lang(german_again.text) == "de" and _lang(english.text) == "en"
    assert "Hilfe-Startseite" in german.text and "Hilfe-Startseite" not in english.text
    assert "Help home" in english.text and "Help home" not in german.text
    assert german.headers["etag"] != english.headers["etag"]
    assert german_again.content == german.content


def test_not_modified_keeps_the_language_headers(client: TestClient) -> None:
    first = client.get("/help/a/refunds", headers=DE)
    again = client.get("/help/a/refunds", headers={**DE, "if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["content-language"] == "de" and "Accept-Language" in again.headers["vary"]


# -- what the pages say ----------------------------------------------------------------------


def test_article_in_german_interface_with_babel_dates(client: TestClient, portal: Portal) -> None:
    art = portal.ss.library.articles["refunds"]
    assert art.updated is not None
    r = client.get("/help/a/refunds", headers=DE)
    german_day = format_date(art.updated, format="long", locale="de")
    assert f"Zuletzt aktualisiert am <time datetime=\"{art.updated.isoformat()}\">{german_day}</time>" in r.text
    assert "Auf dieser Seite" in r.text and "Startseite" in r.text
    # the demo article is English only: say so, and mark its language
    assert "Dieser Artikel ist nicht auf Deutsch verfügbar." in r.text and "Sie lesen ihn auf Englisch." in r.text
    assert '<article class="ss-article ss-article--toc" lang="en">' in r.text
    english = client.get("/help/a/refunds").text
    assert f"Last updated <time datetime=\"{art.updated.isoformat()}\">{format_date(art.updated, format='long', locale='en')}</time>" in english
    assert "not available" not in english and '<article class="ss-article ss-article--toc">' in english


def test_search_and_errors_speak_german(client: TestClient) -> None:
    r = client.get("/help/search?q=zzqqxxnothing", headers=DE)
    assert "0 Treffer für „<span class=\"ss-results__query\">zzqqxxnothing</span>“" in r.text
    assert "Keine Artikel passen zu Ihrer Suche" in r.text
    found = client.get("/help/search?q=refund", headers=DE)
    assert re.search(r"\d+ Treffer für „", found.text) and "Suchergebnisse für „refund“" in found.text
    missing = client.get("/help/a/no-such-article", headers=DE)
    assert missing.status_code == 404 and "Diese Seite konnten wir nicht finden" in missing.text
    assert "Unter „no-such-article“ haben wir keinen Artikel gefunden." in missing.text
    assert missing.headers["content-language"] == "de" and _lang(missing.text) == "de"
    bad = client.get("/help/search?q=x&page=nope", headers=DE)
    assert bad.status_code == 400 and "„page“ muss eine ganze Zahl sein." in bad.text
    api = client.get("/help/api/articles/no-such-article", headers=DE)
    assert api.json()["error"] == "No article has that slug."  # the API stays in one language


def test_manual_pages_speak_german(client: TestClient) -> None:
    r = client.get("/help/m/larkspur-hub/2.x/", headers=DE)
    assert "Sie lesen Version 2.x. Es gibt eine neuere Version dieses Handbuchs:" in r.text
    assert "Ganzes Handbuch drucken oder speichern" in r.text and ">Inhalt</h2>" in r.text
    printed = client.get("/help/m/larkspur-hub/3.x/print", headers=DE)
    assert "als PDF speichern" in printed.text and "(Druckansicht)" in printed.text


def test_language_switcher_is_plain_links_keeping_the_search(client: TestClient) -> None:
    home = client.get("/help/", headers=DE).text
    assert '<a class="ss-nav__link" href="/help/?lang=en" hreflang="en">' in home
    assert '<span lang="en">English</span>' in home and "?lang=de" not in home  # the current one is not a link
    english = client.get("/help/a/refunds").text
    assert 'href="/help/a/refunds?lang=de" hreflang="de"' in english and '<span lang="de">Deutsch</span>' in english
    search = client.get("/help/search?q=refund&category=billing-and-payments").text
    assert 'href="/help/search?q=refund&amp;category=billing-and-payments&amp;lang=de"' in search
    assert "<script>" not in home and " onclick=" not in home
    # a cached page must not carry one visitor's query string to the next
    client.get("/help/c/billing-and-payments?utm_source=mail", headers=DE)
    assert "utm_source" not in client.get("/help/c/billing-and-payments", headers=DE).text


def test_autoescape_still_applies_to_translated_text(tmp_path: Path, demo_dir: Path) -> None:
    with _built(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path, site_name="Shop <b>&</b>")) as portal:
        html = TestClient(portal).get("/", headers=DE).text
    assert "Durchsuchen Sie die Artikel von Shop &lt;b&gt;&amp;&lt;/b&gt; oder wählen Sie ein Thema." in html
    assert "<b>&" not in html


def test_one_language_means_no_switcher_and_no_vary(tmp_path: Path, demo_dir: Path) -> None:
    with _built(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path, locales=[])) as portal:
        r = TestClient(portal).get("/?lang=de", headers=DE)
    assert _lang(r.text) == "en" and r.headers["content-language"] == "en"
    assert r.headers["vary"] == "Accept-Encoding" and "hreflang" not in r.text and "set-cookie" not in r.headers


def test_german_default_site_and_canonical_per_language(tmp_path: Path, demo_dir: Path) -> None:
    settings = Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path, locale="de",
                        base_url="https://help.example.com")
    with _built(settings) as portal:
        assert portal.ss.settings.supported_locales == ("de", "en")
        c = TestClient(portal)
        r = c.get("/a/refunds")
        en = c.get("/a/refunds?lang=en").text
    assert _lang(r.text) == "de" and "Zuletzt aktualisiert am" in r.text
    assert '<link rel="canonical" href="https://help.example.com/a/refunds">' in r.text
    assert '<link rel="canonical" href="https://help.example.com/a/refunds?lang=en">' in en


# -- articles per language -------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture()
def translated(tmp_path: Path) -> Iterator[TestClient]:
    content = tmp_path / "content"
    _write(content / "billing" / "refunds.md",
           "---\ntitle: Refunds\nupdated: 2026-10-14\ntags: [money]\n---\nWe refund you in [five days](fees.md).\n")
    _write(content / "billing" / "refunds.de.md",
           "---\ntitle: Erstattungen\nupdated: 2026-10-20\n---\nWir erstatten Ihnen den Betrag in [fünf Tagen](fees.md).\n")
    _write(content / "billing" / "fees.md", "---\ntitle: Fees\ntags: [money]\n---\nNo fees.\n")
    with _built(Settings(content_dirs=[content], secret_key=SECRET, data_dir=tmp_path / "data")) as portal:
        yield TestClient(Starlette(routes=[Mount("/help", app=portal)]))


def test_translation_shares_the_slug_and_is_shown_in_its_language(translated: TestClient) -> None:
    de = translated.get("/help/a/refunds", headers=DE)
    assert "<h1 class=\"ss-article__title\">Erstattungen</h1>" in de.text and "Wir erstatten" in de.text
    assert 'href="/help/a/fees"' in de.text  # its links resolve like the original's
    assert "20. Oktober 2026" in de.text and "nicht auf Deutsch verfügbar" not in de.text
    assert '<article class="ss-article">' in de.text  # same language as the page: no lang= of its own
    en = translated.get("/help/a/refunds")
    assert "<h1 class=\"ss-article__title\">Refunds</h1>" in en.text and "Erstattungen" not in en.text
    assert "October 14, 2026" in en.text
    # lists show the translated title; the untranslated article keeps its own with the note
    category = translated.get("/help/c/billing", headers=DE).text
    assert ">Erstattungen</a>" in category and ">Fees</a>" in category
    fees = translated.get("/help/a/fees", headers=DE).text
    assert "Dieser Artikel ist nicht auf Deutsch verfügbar." in fees and ">Erstattungen</a>" in fees  # related
    assert translated.get("/help/a/refunds.de").status_code == 404  # not an article of its own


def test_translations_load_beside_the_originals(tmp_path: Path) -> None:
    _write(tmp_path / "g" / "one.md", "---\ntitle: One\n---\nHello\n")
    _write(tmp_path / "g" / "one.de.md", "---\ntitle: Eins\nlocale: fr\n---\nHallo\n")
    _write(tmp_path / "g" / "two.pt-BR.md", "---\ntitle: Dois\n---\nOlá\n")
    _write(tmp_path / "g" / "v1.old.md", "---\ntitle: Old notes\n---\nOld\n")
    lib = load_library([tmp_path])
    assert sorted(lib.articles) == ["one", "two.pt-br", "v1.old"]
    assert lib.translation("one", "de_AT") is lib.translations["one"]["de"]
    assert lib.localized(lib.articles["one"], "de").title == "Eins"
    assert lib.localized(lib.articles["one"], "fr") is lib.articles["one"]
    assert lib.translations["one"]["de"].locale == "de" and lib.translations["one"]["de"].url_path == "/a/one"
    messages = [p.message for p in lib.problems]
    assert any("disagrees with the file name" in m for m in messages)
    assert any("no two.md next to it" in m for m in messages)
    assert not any("v1.old" in m for m in messages)  # "old" is no locale


# -- catalogs --------------------------------------------------------------------------------


def _read_po() -> pofile.Catalog:
    with PO.open("rb") as f:
        return pofile.read_po(f)


def _messages(catalog: object) -> dict[tuple[str | None, object], object]:
    def key(value: object) -> object:
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {(m.context, key(m.id)): key(m.string) for m in catalog if m.id}  # type: ignore[attr-defined]


def test_german_catalog_is_complete_and_not_fuzzy() -> None:
    catalog = _read_po()
    assert catalog.locale is not None and str(catalog.locale) == "de"
    assert not catalog.fuzzy
    untranslated = [m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []
    assert len(catalog) > 80
    # placeholders survive translation
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[-1]))
        assert all(set(re.findall(r"%\(\w+\)s", s)) <= wanted | {"%(num)s"} for s in strings), m.id
        assert all(set(re.findall(r"%\(\w+\)s", s)) >= wanted - {"%(num)s"} for s in strings), m.id


def test_committed_mo_matches_the_po() -> None:
    """Compile the .po again and compare with the shipped .mo, so the two never drift."""
    compiled = io.BytesIO()
    mofile.write_mo(compiled, _read_po())
    compiled.seek(0)
    fresh = _messages(mofile.read_mo(compiled))
    with MO.open("rb") as f:
        shipped = _messages(mofile.read_mo(f))
    assert shipped == fresh, "run: pybabel compile -d selfservice/locale -D messages (docs/i18n.md)"
    assert "de" in catalog_locales()


def test_every_message_in_the_code_is_in_the_catalog() -> None:
    """Extract like `pybabel extract -F babel.cfg` does: a new string must reach the .po."""
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse(f)
    found = set()
    for _file, _line, message, _comments, context in extract.extract_from_dir(
        str(ROOT), method_map, options_map, keywords=extract.DEFAULT_KEYWORDS
    ):
        found.add((context, message[0] if isinstance(message, tuple) else message))
    catalog = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in _read_po() if m.id}
    assert len(found) > 80
    assert sorted(found - catalog, key=str) == [], "run pybabel extract + update and translate (docs/i18n.md)"


# -- templates, filters and settings ---------------------------------------------------------


def test_date_and_number_filters_follow_the_page_locale(tmp_path: Path) -> None:
    settings = Settings(content_dirs=[tmp_path], secret_key=SECRET)
    env = build_environment(settings, load_theme("default"))
    t = env.from_string("{{ d|date }} | {{ d|date('short') }} | {{ n|number }} | {{ _('Search') }}")
    day, n = date(2026, 10, 14), 1234567.5
    assert t.render(d=day, n=n, locale="de") == "14. Oktober 2026 | 14.10.26 | 1.234.567,5 | Suche"
    assert t.render(d=day, n=n, locale="en") == "October 14, 2026 | 10/14/26 | 1,234,567.5 | Search"
    assert t.render(d=day, n=n) == "October 14, 2026 | 10/14/26 | 1,234,567.5 | Search"  # no page: the site's
    assert env.from_string("{{ d|date(locale='de') }}").render(d=day, locale="en") == "14. Oktober 2026"
    plural = env.from_string("{{ ngettext('%(num)s article', '%(num)s articles', n) }}")
    assert plural.render(n=1, locale="de") == "1 Artikel" and plural.render(n=3, locale="en") == "3 articles"
    assert env.autoescape is True and isinstance(env.undefined, type) and issubclass(env.undefined, jinja2.StrictUndefined)
    assert format_day("2026-10-14", "de_CH") == "14. Oktober 2026" and format_number(12345, "de") == "12.345"


def test_moment_filter_shows_date_time_and_zone_in_the_page_language(tmp_path: Path) -> None:
    """Timelines show when something happened to the minute, in the business-hours zone."""
    instant = datetime(2026, 11, 23, 17, 30, tzinfo=timezone.utc)
    t = "<time datetime=\"{{ d|isoinstant }}\">{{ d|moment }}</time>"
    utc = build_environment(Settings(content_dirs=[tmp_path], secret_key=SECRET), load_theme("default")).from_string(t)
    assert utc.render(d=instant, locale="de") == '<time datetime="2026-11-23T17:30:00+00:00">23.11.2026, 17:30 UTC</time>'
    assert utc.render(d=instant.replace(tzinfo=None), locale="de") == utc.render(d=instant, locale="de")  # naive is UTC
    hours = {"timezone": "America/New_York", "channels": {"phone": {"hours": {"mon-fri": "09:00-17:00"}}}}
    ny = build_environment(Settings(content_dirs=[tmp_path], secret_key=SECRET, business_hours=hours), load_theme("default"))
    assert ny.from_string("{{ d|moment }}").render(d=instant, locale="en_GB") == "23 Nov 2026, 12:30 EST"
    assert format_moment(date(2026, 10, 14), "en") == "Oct 14, 2026"  # a bare date: no time to show


def test_locales_setting_is_validated(tmp_path: Path) -> None:
    base = {"content_dirs": [tmp_path], "secret_key": SECRET}
    for bad in (["fr"], ["english"], ["xx"], [5]):
        with pytest.raises(SettingsError) as info:
            Settings(**base, locales=bad).validate()  # type: ignore[arg-type]
        assert info.value.field == "locales"
    assert Settings(**base).locales == ("en", "de")
    assert Settings(**base, locales="de").locales == ("de",)
    assert Settings(**base, locale="en_GB").supported_locales == ("en_GB", "de")
    assert Settings(**base, locale="de_CH", locales=["en", "de"]).validate().supported_locales == ("de_CH", "en")
    assert Settings(**base, locales=["en_US", "de-AT"]).validate().supported_locales == ("en", "de-AT")
