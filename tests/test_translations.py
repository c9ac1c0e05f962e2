"""The whole customer interface in German: forms, account pages, opening hours, the request
status page, form errors, emails, and the hreflang links search engines read (docs/i18n.md).

Each page is asked for in German and must show the German words for its headings, labels and
buttons and none of the English ones; the same pages in English are covered by their own tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages import extract, frontend, pofile
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from selfservice import Settings, create_portal
from selfservice.hours import parse_business_hours
from selfservice.i18n import LOCALE_DIR
from selfservice.views.hours import open_now_view, when
from tests.conftest import SECRET
from tests.test_accounts import Harness, make
from tests.test_hours import LONDON

ROOT = Path(__file__).resolve().parent.parent
PO = LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po"
BASE = "https://help.larkspur.example/help"


@pytest.fixture
def h(tmp_path: Path, demo_dir: Path) -> Iterator[Harness]:
    """The demo portal (accounts, opening hours, forms) with a visitor who chose German."""
    for harness in make(tmp_path, demo_dir, staff_email="desk@larkspur.example", site_name="Larkspur Help"):
        assert harness.c.get("/?lang=de").headers["content-language"] == "de"  # sets the lang cookie
        yield harness


def _german(html: str, german: list[str], english: list[str]) -> None:
    missing = [text for text in german if text not in html]
    leftover = [text for text in english if text in html]
    assert missing == [] and leftover == [], f"German missing: {missing}; English left: {leftover}"


# -- the catalog ------------------------------------------------------------------------------


def test_catalog_passes_babels_checks_and_covers_the_mail_templates() -> None:
    with PO.open("rb") as f:
        catalog = pofile.read_po(f)
    # python-format: every translation keeps the placeholders of its msgid, with the same types
    assert [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()] == []
    formatted = [m for m in catalog if m.id and "%(" in (m.id[0] if isinstance(m.id, tuple) else m.id)]
    assert len(formatted) > 80 and all(m.python_format for m in formatted)
    # templates %-format every string (new-style gettext): a stray "%" would fail on the page
    for m in catalog:
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)) if m.id else ():
            text % {name: "x" for name in {*re.findall(r"%\((\w+)\)s", text), "num"}}
    # the plain-text mail templates are extracted too (babel.cfg), and so are the strings
    # that Python marks with N_ (status labels, topics)
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse(f)
    files = {name for name, *_rest in extract.extract_from_dir(str(ROOT), method_map, options_map)}
    assert "selfservice/templates/mail/request_update.txt" in files
    assert "selfservice/templates/mail/account_reset.txt" in files
    ids = {m.id for m in catalog}
    assert {"Waiting for your reply", "An order or delivery", "It solved my problem"} <= ids


# -- pages --------------------------------------------------------------------------------------

PAGES = [
    ("/contact",
     ["Kontakt", "Worum geht es?", "Betreff", "Ihre Nachricht", "Nachricht senden", "Zuerst Antworten suchen",
      "(freiwillig)", "Bitte wählen…", "Eine Bestellung oder Lieferung", "innerhalb von 3 Werktagen"],
     ["Contact us", "What is it about?", "Your message", "Send message", "Find answers first", "(optional)",
      "Choose…", "An order or delivery", "working days", "Already wrote to us?"]),
    ("/complaint",
     ["Beschwerde einreichen", "Beschwerde senden", "Was sollen wir für Sie tun?", "innerhalb von 10 Tagen"],
     ["Make a complaint", "Send complaint", "What would you like us to do?", "We are sorry"]),
    ("/requests/status",
     ["Anfrage prüfen", "Vorgangsnummer", "Meine Anfrage anzeigen", "Keine Vorgangsnummer? <a",
      "Schreiben Sie uns</a> oder <a", "reichen Sie eine Beschwerde ein"],
     ["Check your request", "Show my request", "No reference?", "make a complaint"]),
    ("/survey/csat",
     ["Wie zufrieden sind Sie?", "Sehr unzufrieden", "Sehr zufrieden", "Was könnten wir besser machen?", ">Senden<"],
     ["How satisfied are you?", "Very dissatisfied", "What could we do better?", ">Send<"]),
    ("/hours",
     ["Öffnungszeiten", "Jede Woche", '<th scope="col">Tag</th>', '<th scope="row">Montag</th>',
      '<th scope="row">Sonntag</th>', "Geschlossen", "Alle Zeiten in der Zeitzone Europe/London.",
      "Jetzt geöffnet, bis", "verfolgen Sie eine Bestellung"],
     ["Opening hours", "Every week", ">Monday<", ">Sunday<", "Closed", "Times are", "Open now", "track an order"]),
    ("/account",
     ["Ihr Konto", "Bestellung verfolgen", "Passwort zurücksetzen", "Anmelden", "Ohne Anmeldung."],
     ["Your account", "Track an order", "Reset your password", "Sign in", "No sign-in needed"]),
    ("/account/sign-in",
     ["Anmelden", "Benutzername oder E-Mail-Adresse", "Passwort", "Passwort vergessen?", "Benutzernamen vergessen?"],
     ["Sign in", "Username or email address", "Forgotten your password?", "Forgotten your username?"]),
    ("/account/reset",
     ["Passwort zurücksetzen", "E-Mail-Adresse", "Link senden", "60 Minuten lang"],
     ["Reset your password", "Email address", "Send me a link", "minutes"]),
    ("/account/username",
     ["Benutzernamen vergessen?", "Benutzernamen senden"],
     ["Forgotten your username?", "Email my username", "Enter the email address"]),
    ("/account/orders",
     ["Bestellung verfolgen", "Bestellnummer", "E-Mail-Adresse oder Postleitzahl", "Meine Bestellung finden"],
     ["Track an order", "Order number", "Email address or postcode", "Find my order", "sign in"]),
]


@pytest.mark.parametrize(("path", "german", "english"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_speak_german(h: Harness, path: str, german: list[str], english: list[str]) -> None:
    r = h.c.get(path)
    assert r.status_code == 200 and r.headers["content-language"] == "de"
    common = ["Zum Hauptinhalt springen", "Öffnungszeiten"]  # base.html and the open-now strip
    _german(r.text, german + common, english + ["Skip to main content", "Opening hours"])


def test_accept_language_alone_gives_german_forms(tmp_path: Path, demo_dir: Path) -> None:
    for harness in make(tmp_path, demo_dir):
        r = harness.c.get("/contact", headers={"accept-language": "de-DE,de;q=0.9"})
        _german(r.text, ["Kontakt", "Nachricht senden"], ["Contact us", "Send message"])
        assert "Send message" in harness.c.get("/contact").text  # English stays English


def test_signed_in_account_pages_speak_german(h: Harness) -> None:
    assert h.sign_in().status_code == 303
    _german(h.c.get("/account").text, ["Angemeldet als", "Abmelden", "Ihre Daten"], ["Signed in as", "Sign out"])
    _german(h.c.get("/account/details").text,
            ["Ihre Daten", "Vollständiger Name", "Lieferadresse", "Postleitzahl", "Was wir Ihnen schicken",
             "E-Mails zu meinen Bestellungen und Lieferungen", "Änderungen speichern", "Bestätigungslink senden"],
            ["Your details", "Full name", "Delivery address", "What we send you", "Save changes",
             "Emails about my orders", "Send confirmation link"])
    _german(h.c.get("/account/billing").text,
            ["Rechnungen und Zahlungen", "Offener Betrag:", "Rechnung", "Fällig", "Betrag", "Offen", "Bezahlt"],
            ["Bills and payments", "Balance to pay", ">Invoice<", ">Amount<", ">Open<", ">Paid<"])
    orders = h.c.get("/account/orders").text
    _german(orders, ["Ihre Bestellungen", "Bestellung LH-100231", "Bestellt am", "Ihre Nachrichten an uns"],
            ["Your orders", "Order LH-100231", "Placed ", "Your messages to us"])
    order = h.c.get("/account/orders/LH-100231")
    _german(order.text, ["Bestellung LH-100231", "Wie es weitergeht", "Verlauf", "Versandt", "Ihr Paket ist unterwegs"],
            ["What happens next", "Timeline", "Shipped", "Your parcel is on its way"])
    assert "<title>Bestellung LH-100231 – Larkspur Help</title>" in order.text


def test_was_this_helpful_and_its_thank_you_page_speak_german(h: Harness) -> None:
    article = h.c.get("/a/reset-your-password")
    _german(article.text, ["War diese Seite hilfreich?", ">Ja<", ">Nein<", "Was hat nicht gepasst?",
                           "Sie war schwer zu verstehen", "Hier können wir nicht antworten: <a"],
            ["Was this page helpful?", "What went wrong?", "It was hard to understand"])
    thanks = h.c.post("/feedback/vote", data={"page": "article:reset-your-password", "helpful": "no"},
                      headers={"origin": "http://localhost"})
    assert thanks.status_code == 200 and thanks.url.path == "/feedback/thanks"
    _german(thanks.text, ["Vielen Dank für Ihr Feedback", "<strong>nicht hilfreich</strong>",
                          "Antwort ändern: War diese Seite hilfreich?", "Erzählen Sie uns mehr",
                          "Etwas ist falsch oder veraltet", "schreiben Sie uns, wenn Sie eine Antwort brauchen"],
            ["Thank you for your feedback", "not helpful", "Tell us more", "Something is wrong"])


def test_the_json_api_keeps_english_messages(h: Harness) -> None:
    r = h.c.post("/api/requests", json={"kind": "contact", "topic": "billing", "subject": "", "message": "Hello there!",
                                        "email": "ada@example.com"}, headers={"accept-language": "de"})
    assert r.status_code == 422 and r.json()["errors"]["subject"] == "Enter subject"


# -- form errors ----------------------------------------------------------------------------------


def test_form_errors_are_german_and_english_stays_as_it_was(h: Harness) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', h.c.get("/contact").text).group(1)  # type: ignore[union-attr]
    data = {"csrf_token": token, "topic": "nope", "subject": "", "message": "short", "email": "not-an-email"}
    de = h.c.post("/contact", data=data)
    assert de.status_code == 422
    _german(de.text,
            ["Es gibt ein Problem", "Bitte füllen Sie „Betreff“ aus", "„Ihre Nachricht“ muss mindestens 10 Zeichen lang sein",
             "Geben Sie eine E-Mail-Adresse wie name@example.com ein", "„Thema“: Bitte wählen Sie eine der Möglichkeiten",
             '<span class="ss-sr-only">Fehler:</span>'],
            ["There is a problem", "Enter subject", "must be at least", "Enter an email address", "Error:"])
    h.c.cookies.delete("lang")
    en = h.c.post("/contact", data=data)
    assert "Enter subject" in en.text and "Your message must be at least 10 characters" in en.text
    assert "Topic: choose one of the options" in en.text and "Bitte" not in en.text


def test_account_errors_are_german(h: Harness) -> None:
    wrong = h.post("/account/sign-in", {"login": "ann", "password": "not her password"})
    assert wrong.status_code == 422
    _german(wrong.text, ["Benutzername oder E-Mail-Adresse und Passwort passen nicht zusammen."], ["don't match"])
    short = h.post("/account/reset", {"email": "nobody"})
    _german(short.text, ["Geben Sie eine E-Mail-Adresse wie name@example.com ein"], ["Enter an email address"])


# -- the request in German, its emails ------------------------------------------------------------


def test_a_request_sent_in_german_is_answered_in_german_staff_mail_stays_english(h: Harness) -> None:
    page = h.c.get("/contact").text
    data = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
            "topic": "billing", "subject": "Doppelt abgebucht", "message": "Meine Karte wurde zweimal belastet.",
            "email": "ada@example.com"}
    thanks = h.c.post("/contact", data=data, follow_redirects=True)
    _german(thanks.text, ["Ihre Nachricht ist bei uns eingegangen", "Ihre Vorgangsnummer", "Wir möchten bis zum"],
            ["We have received your message", "Your reference", "We aim to reply by"])
    status = h.c.get(re.search(r'href="(/requests/R-[^"]+)"', thanks.text).group(1))  # type: ignore[union-attr]
    _german(status.text, ["Anfrage R-", "Status: <strong>Eingegangen</strong>", "Rechnungen und Zahlungen",
                          "Sie schrieben", "Nachricht hinzufügen"],
            ["Status:  ", "Received", "Billing and payments", "You wrote", "Add a message"])
    customer, staff = h.mails()[-2:]
    assert customer["to"] == "ada@example.com" and staff["to"] == "desk@larkspur.example"
    assert re.fullmatch(r"\[R-\S+\] Ihre Nachricht ist eingegangen: Doppelt abgebucht", customer["subject"])
    _german(customer["text"], ["Guten Tag,", "Vielen Dank für Ihre Nachricht an Larkspur Help.",
                               "Thema: Rechnungen und Zahlungen", "Wir möchten antworten bis:",
                               "Dies ist eine automatische Nachricht"],
            ["Hello", "Thank you", "Topic:", "automatic message"])
    assert '<html lang="de">' in customer["html"] and "Ihre Vorgangsnummer" in customer["html"]
    assert "New contact" in staff["subject"] and "Topic: Billing and payments" in staff["text"]


def test_account_mail_follows_the_language_of_the_form(h: Harness) -> None:
    assert h.post("/account/reset", {"email": "ann.hughes@example.com"}).status_code == 200
    mail = h.mails()[-1]
    assert mail["subject"] == "Setzen Sie Ihr Passwort bei Larkspur Help zurück"
    _german(mail["text"], ["Hallo Ann Hughes,", "Jemand (hoffentlich Sie)", "innerhalb von 60 Minuten:"],
            ["Hello", "Someone", "minutes"])


# -- opening hours ------------------------------------------------------------------------------


def test_open_now_and_day_names_come_from_babel() -> None:
    hours = parse_business_hours(LONDON)
    sunday_noon = datetime(2026, 1, 18, 12, 0, tzinfo=UTC)
    closed = open_now_view(hours, sunday_noon, "de")
    assert (closed.headline, closed.detail) == ("Jetzt geschlossen", "Chat öffnet heute um 22:00")
    friday = datetime(2026, 1, 16, 12, 0, tzinfo=UTC)
    assert when(datetime(2026, 1, 19, 9, 0, tzinfo=UTC), friday, hours, "de") == "Montag um 09:00"
    assert when(datetime(2026, 2, 5, 9, 0, tzinfo=UTC), friday, hours, "de") == "5. Februar um 09:00"
    assert when(datetime(2026, 1, 19, 9, 0, tzinfo=UTC), friday, hours, "en_GB") == "Monday at 09:00"
    assert open_now_view(hours, sunday_noon, "en_GB").headline == "Closed now"


# -- hreflang ---------------------------------------------------------------------------------------


def _alternates(html: str) -> dict[str, str]:
    return dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html))


@pytest.fixture
def indexed(tmp_path: Path) -> Iterator[TestClient]:
    """Two articles, one with a German translation, under a base URL."""
    content = tmp_path / "content" / "billing"
    content.mkdir(parents=True)
    (content / "refunds.md").write_text("---\ntitle: Refunds\n---\nWe refund in five days.\n", encoding="utf-8")
    (content / "refunds.de.md").write_text("---\ntitle: Erstattungen\n---\nWir erstatten.\n", encoding="utf-8")
    (content / "fees.md").write_text("---\ntitle: Fees\n---\nNo fees.\n", encoding="utf-8")
    portal = create_portal(Settings(content_dirs=[tmp_path / "content"], secret_key=SECRET, data_dir=tmp_path / "data",
                                    base_url=BASE))
    try:
        yield TestClient(Starlette(routes=[Mount("/help", app=portal)]))
    finally:
        portal.ss.index.close()


def test_hreflang_links_are_absolute_and_only_on_indexable_pages(indexed: TestClient) -> None:
    expected = {"en": f"{BASE}/a/refunds", "de": f"{BASE}/a/refunds?lang=de", "x-default": f"{BASE}/a/refunds"}
    for asked in ("", "?lang=de"):  # the same set whichever language the page is in
        assert _alternates(indexed.get(f"/help/a/refunds{asked}").text) == expected
    assert _alternates(indexed.get("/help/").text) == {"en": f"{BASE}/", "de": f"{BASE}/?lang=de", "x-default": f"{BASE}/"}
    assert _alternates(indexed.get("/help/c/billing").text)["de"] == f"{BASE}/c/billing?lang=de"
    # an article in one language only has no alternates: its ?lang=de page is still English text
    assert _alternates(indexed.get("/help/a/fees").text) == {}
    # noindex and error pages have none
    search = indexed.get("/help/search?q=refund")
    missing = indexed.get("/help/a/nothing-here")
    assert 'content="noindex"' in search.text and _alternates(search.text) == {}
    assert missing.status_code == 404 and _alternates(missing.text) == {}


def test_no_hreflang_without_a_base_url_or_with_one_language(tmp_path: Path, demo_dir: Path) -> None:
    for extra in ({}, {"base_url": BASE, "locales": ["en"]}):
        portal = create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path / str(len(extra)),
                                        **extra))
        try:
            html = TestClient(portal).get("/a/reset-password").text
        finally:
            portal.ss.index.close()
        assert "<h1" in html and "hreflang=\"x-default\"" not in html
