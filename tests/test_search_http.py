"""Search over HTTP: the direct answer box and ``/api/answer``, facets and filter links,
autocomplete on ``/api/suggest``, and search analytics (recorded in the background, clicks
through ``/search/click``, never breaking a search when the store fails)."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from selfservice import Portal, Settings, SettingsError
from selfservice.store import tables
from selfservice.store.search_events import purge_before
from tests.conftest import SECRET
from tests.test_feedback import db_settings, portal_for  # noqa: F401

REFUND_Q = "how long does a refund take"


def settled(client: TestClient, portal: Portal) -> None:
    """Wait for the outbox worker's first pass: a test this short would otherwise shut the
    portal down while that pass is still reading the database (stop() cancels it)."""
    client.portal.call(portal.desk.worker.idle.wait)  # type: ignore[union-attr]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Portal, TestClient]]:
    portal = portal_for(tmp_path, {})
    with TestClient(portal) as client:
        settled(client, portal)
        yield portal, client


def flush(client: TestClient, portal: Portal) -> None:
    client.portal.call(portal.desk.searches.flush)  # type: ignore[union-attr]


def events(client: TestClient, portal: Portal) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        await portal.desk.searches.flush()
        store = await portal.desk.store()
        async with store.read() as conn:
            rows = await conn.execute(select(tables.search_events).order_by(tables.search_events.c.id))
            return [dict(r) for r in rows.mappings()]

    return list(client.portal.call(run))  # type: ignore[union-attr]


# -- direct answers ------------------------------------------------------------------------------


def test_answer_box_sits_above_the_results_and_links_to_the_section(served: tuple[Portal, TestClient]) -> None:
    _, client = served
    page = client.get("/search", params={"q": REFUND_Q})
    assert page.status_code == 200
    box = re.search(r'<aside class="ss-notice" id="ss-answer" aria-labelledby="ss-answer-title">(.*?)</aside>',
                    page.text, re.S)
    assert box and page.text.index('id="ss-answer"') < page.text.index('class="ss-results"')
    assert 'href="/a/refunds#how-refunds-work"' in box.group(1) and "How long this takes" in box.group(1)
    assert 'id="ss-answer"' not in client.get("/search", params={"q": "refund"}).text  # not sure: no box
    filtered = client.get("/search", params={"q": REFUND_Q, "category": "billing-and-payments"})
    assert 'id="ss-answer"' not in filtered.text  # an answer ignores filters, so none is shown with them


def test_api_answer_gives_the_passage_or_null(served: tuple[Portal, TestClient]) -> None:
    _, client = served
    data = client.get("/api/answer", params={"q": REFUND_Q}).json()
    assert data["query"] == REFUND_Q and set(data["answer"]) == {"slug", "title", "heading", "url", "text"}
    assert data["answer"]["url"] == "http://testserver/a/refunds#how-refunds-work"
    assert data["answer"]["slug"] == "refunds" and data["answer"]["heading"] == "How refunds work"
    assert client.get("/api/answer", params={"q": "refund"}).json() == {"query": "refund", "answer": None}
    assert client.get("/api/answer", params={"q": "   "}).json()["answer"] is None
    missing = client.get("/api/answer")
    assert missing.status_code == 400 and missing.json()["status"] == 400
    assert client.get("/api/answer", params={"q": "x" * 5000}).status_code == 400


def test_answer_text_is_escaped(tmp_path: Path) -> None:
    content = tmp_path / "content" / "help"
    content.mkdir(parents=True)
    (content / "tags.md").write_text(
        "---\ntitle: Angle brackets\n---\n\n## Writing markup\n\nType &lt;script&gt; zeppelin quokka markup here.\n"
        "\n## Other\n\nNothing else.\n", encoding="utf-8")
    portal = portal_for(tmp_path / "data", {}, content_dirs=[tmp_path / "content"])
    with TestClient(portal) as client:
        settled(client, portal)
        page = client.get("/search", params={"q": "zeppelin quokka markup"}).text
        box = re.search(r'<p id="ss-answer-text">(.*?)</p>', page, re.S)
        assert box and "<script>" not in box.group(1) and "&lt;script&gt;" in box.group(1)


# -- facets and filters --------------------------------------------------------------------------


def test_facets_count_matches_and_their_links_add_and_remove_filters(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    page = client.get("/search", params={"q": "password"}).text
    nav = re.search(r'<nav id="ss-facets" aria-labelledby="ss-facets-title">(.*?)</nav>', page, re.S)
    assert nav and 'id="ss-facets-title"' in nav.group(1) and "aria-current" not in nav.group(1)
    name = portal.ss.library.categories["account-and-sign-in"].name
    link = re.search(r'<a class="ss-tag" href="([^"]+)">' + re.escape(html.escape(name)) +
                     r' <span class="ss-meta">\((\d+)\)</span>', nav.group(1))
    assert link and link.group(2) == "6"
    href = html.unescape(link.group(1))
    assert href == "/search?q=password&category=account-and-sign-in"
    narrowed = client.get(href).text
    assert re.search(r"\b6 results for", narrowed)
    active = re.search(r'<a class="ss-tag" href="([^"]+)" aria-current="true"><span aria-hidden="true">✕ </span>'
                       r'<span class="ss-sr-only">Remove filter: </span>' + re.escape(html.escape(name)), narrowed)
    assert active and html.unescape(active.group(1)) == "/search?q=password"
    assert 'name="category" value="account-and-sign-in"' in narrowed  # the search box keeps the filter
    api = client.get("/api/search", params={"q": "password", "category": "account-and-sign-in", "facets": "true"}).json()
    assert api["total"] == 6 and api["facets"]["category"] == [{"value": "account-and-sign-in", "count": 6}]
    assert client.get("/api/search", params={"q": "password", "manual": "larkspur-hub/3.x"}).json()["total"] == 4
    assert client.get("/api/search", params={"q": "password", "locale": "xx"}).json()["total"] == 0
    assert "facets" not in client.get("/api/search", params={"q": "password"}).json()


@pytest.mark.parametrize("params", [{"q": "password", "tag": "x" * 201}, {"q": "password", "facets": "maybe"}])
def test_bad_filters_are_400_not_500(served: tuple[Portal, TestClient], params: dict[str, str]) -> None:
    _, client = served
    assert client.get("/api/search", params=params).json()["status"] == 400
    if "tag" in params:
        assert client.get("/search", params=params).status_code == 400


# -- autocomplete --------------------------------------------------------------------------------


def test_autocomplete_offers_titles_then_popular_queries(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    r = client.get("/api/suggest", params={"q": "pass"})
    assert r.status_code == 200 and "max-age" in r.headers["cache-control"]
    assert r.json() == {"query": "pass", "queries": [], "suggestions": [
        {"slug": "reset-your-password", "title": "Reset your password", "url": "/a/reset-your-password",
         "page_url": "/a/reset-your-password"}]}
    assert client.get("/api/suggest", params={"q": "pass", "form": "search"}).json() == r.json()
    assert client.get("/api/suggest", params={"q": "pa"}).json()["suggestions"] == []  # too short to be useful
    assert client.get("/api/suggest", params={"q": "pass", "form": "chat"}).status_code == 400
    assert client.get("/api/suggest", params={"q": "pass", "limit": "0"}).status_code == 400
    for _ in range(3):
        client.get("/search", params={"q": "Password  reset"})
    client.get("/search", params={"q": "password rarely"})  # searched once: never offered
    flush(client, portal)
    client.portal.call(portal.desk.searches.refresh_popular)  # type: ignore[union-attr]
    assert client.get("/api/suggest", params={"q": "passw"}).json()["queries"] == ["password reset"]


# -- analytics ------------------------------------------------------------------------------------


def test_searches_and_clicks_are_recorded_without_ip_addresses(tmp_path: Path, db_settings: dict[str, Any]) -> None:
    portal = portal_for(tmp_path, db_settings, page_size=2)
    with TestClient(portal) as client:
        settled(client, portal)
        page = client.get("/search", params={"q": "  Password "}, headers={"x-forwarded-for": "203.0.113.9"}).text
        links = re.findall(r'<h2 class="ss-result__title"><a href="([^"]+)" ping="([^"]+)">', page)
        direct, first = links[0][0], html.unescape(links[0][1])
        assert re.fullmatch(r"/search/click/[A-Za-z0-9_-]{16}\?to=[a-z0-9-]+&rank=1", first)
        assert direct == f"/a/{first.split('to=')[1].split('&')[0]}", "the result links to the page itself"
        key = first.split("/")[3].split("?")[0]
        next_page = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))  # type: ignore[union-attr]
        assert f"k={key}" in next_page
        later = client.get(next_page).text  # the same search: not recorded again, its clicks rank on
        second_page_link = html.unescape(re.findall(r'<h2 class="ss-result__title"><a href="[^"]+" ping="([^"]+)">', later)[0])
        assert second_page_link.startswith(f"/search/click/{key}?") and second_page_link.endswith("&rank=3")
        pinged = client.post(first, content=b"PING", headers={"content-type": "text/ping", "ping-to": direct})
        assert pinged.status_code == 204, "the browser's ping as the customer follows the link"
        slug = first.split("to=")[1].split("&")[0]
        opened = client.get(first.replace("rank=1", "rank=2"), follow_redirects=False)  # the first click wins
        assert opened.status_code == 303 and opened.headers["location"] == f"/a/{slug}", "API click_url redirects"
        api = client.get("/api/search", params={"q": "zzqqxx"}).json()
        assert api["total"] == 0
        found = client.get("/api/search", params={"q": "refund", "limit": 1}).json()
        assert found["results"][0]["click_url"].startswith("http://testserver/search/click/")
        assert "click_url" not in client.get("/api/search", params={"q": "refund", "offset": 1}).json()["results"][0]
        rows = events(client, portal)
    assert [(r["query_norm"], r["zero_results"], r["locale"]) for r in rows] == [
        ("password", False, "en"), ("zzqqxx", True, "en"), ("refund", False, "en")]
    assert rows[0]["result_count"] > 2 and rows[1]["result_count"] == 0
    assert (rows[0]["clicked_slug"], rows[0]["clicked_rank"]) == (slug, 1) and rows[0]["event_key"] == key
    assert all(r["session_hash"] is None for r in rows)
    assert "203.0.113.9" not in repr(rows)


def test_bad_click_links_still_answer_sensibly(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    assert client.get("/search/click/AAAAAAAAAAAAAAAA", params={"to": "no-such-article"}).status_code == 404
    assert client.get("/search/click/AAAAAAAAAAAAAAAA", params={"to": "refunds", "rank": "x"}).status_code == 400
    opened = client.get("/search/click/not-a-key", params={"to": "refunds"}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/a/refunds"
    assert events(client, portal) == []


def test_a_failing_store_never_breaks_a_search(served: tuple[Portal, TestClient], caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    portal, client = served

    async def broken(work: Any) -> Any:
        raise OSError("database is away")

    monkeypatch.setattr(portal.desk, "write", broken)
    with caplog.at_level(logging.WARNING, logger="selfservice"):
        for q in ("password", "refund", "delivery"):
            assert client.get("/search", params={"q": q}).status_code == 200
            flush(client, portal)
        assert client.get("/api/search", params={"q": "order"}).status_code == 200
        flush(client, portal)
    warnings = [r for r in caplog.records if "search analytics" in r.getMessage()]
    assert len(warnings) == 1 and "database is away" in warnings[0].getMessage()  # at most once a minute
    assert portal.desk.searches.dropped == 4
    monkeypatch.undo()
    client.get("/search", params={"q": "password"})
    assert [r["query_norm"] for r in events(client, portal)] == ["password"]


def test_retention_setting_is_validated_and_old_events_are_purged(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    for bad in (0, -1, "30", True):
        with pytest.raises(SettingsError, match="search_retention_days"):
            Settings(secret_key=SECRET, search_retention_days=bad).validate()  # type: ignore[arg-type]
    Settings(secret_key=SECRET, search_retention_days=None).validate()
    client.get("/search", params={"q": "password"})
    assert len(events(client, portal)) == 1

    async def purge(before: datetime) -> int:
        return await purge_before(await portal.desk.store(), before)

    assert client.portal.call(purge, datetime.now(UTC) - timedelta(days=1)) == 0  # type: ignore[union-attr]
    assert client.portal.call(portal.desk.searches.purge) == 0  # type: ignore[union-attr]  # 365 days kept
    assert client.portal.call(purge, datetime.now(UTC) + timedelta(seconds=1)) == 1  # type: ignore[union-attr]
    assert events(client, portal) == []


def test_a_mounted_portal_records_searches_without_a_lifespan(tmp_path: Path) -> None:
    """Hosts mount the portal: it never gets lifespan events; searches wait in memory until the
    store opens (here in flush(), as on the first form post) and are then all written."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    portal = portal_for(tmp_path, {})
    host = Starlette(routes=[Mount("/help", app=portal)])
    with TestClient(host) as client:
        assert client.get("/help/search", params={"q": "refund"}).status_code == 200
        assert client.get("/help/api/search", params={"q": "password reset"}).status_code == 200
        recorded = events(client, portal)
    assert [e["query_norm"] for e in recorded] == ["refund", "password reset"]
    assert all(e["result_count"] > 0 for e in recorded)


# -- per-language search over HTTP (GNOME Help sample, tests/corpora/gnome-help) ----------------


@pytest.fixture
def multilingual(tmp_path: Path) -> Iterator[TestClient]:
    portal = portal_for(tmp_path, {}, content_dirs=[Path(__file__).parent / "corpora" / "gnome-help"],
                        locales=["en", "de"])  # the portal's interface speaks these two
    with TestClient(portal) as client:
        settled(client, portal)
        yield client


def test_search_page_and_api_search_in_the_request_language(multilingual: TestClient) -> None:
    client = multilingual
    # "Sicherungen" (plural) is in no article: only the German stemmer finds "Sicherung".
    data = client.get("/api/search", params={"q": "Sicherungen wiederherstellen", "lang": "de"}).json()
    assert [(r["slug"], r["title"]) for r in data["results"]] == [("backup-restore", "Eine Sicherung wiederherstellen")]
    assert client.get("/api/search", params={"q": "Sicherungen", "lang": "en"}).json()["total"] == 0
    page = client.get("/search", params={"q": "Papierstaus", "lang": "de"}).text
    assert '<h2 class="ss-result__title"><a href="/a/printing-paperjam"' in page
    assert "Einen Papierstau beheben" in page and "Clearing a paper jam" not in page
    # English words on the German site: the English article, shown with its German title.
    page = client.get("/search", params={"q": "backup restore lost files", "lang": "de"}).text
    assert 'href="/a/backup-restore"' in page and "Eine Sicherung wiederherstellen" in page
    # An untranslated article is found on the German site, in English.
    data = client.get("/api/search", params={"q": "calibration targets", "lang": "de"}).json()
    assert [r["title"] for r in data["results"]] == ["Which target types are supported?"]


def test_autocomplete_offers_titles_in_the_request_language(multilingual: TestClient) -> None:
    client = multilingual

    def offered(q: str, lang: str) -> list[str]:
        return [s["title"] for s in client.get("/api/suggest", params={"q": q, "lang": lang}).json()["suggestions"]]

    assert offered("Papiers", "de") == ["Einen Papierstau beheben"]
    assert offered("Maus", "de") == ["Die Maus mit der linken Hand verwenden"]
    assert offered("mouse", "en") == ["Use your mouse left-handed"]
    assert offered("mouse", "de") == []
