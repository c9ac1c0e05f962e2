"""Account actions found by what customers type (``selfservice/accounts/discover.py``): the
matcher on its own, then "Quick actions" on ``/search``, ``actions`` in ``/api/search`` and the
``/api/actions`` listing, with a host-defined action next to the built-in ones."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from selfservice.accounts import AccountAction
from selfservice.accounts.actions import builtin_actions
from selfservice.accounts.discover import match_actions, needs_sign_in, words
from tests.test_accounts import BASE, Harness, make


async def _returns(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Start a return")


RETURNS = AccountAction(
    slug="returns", title="Start a return", summary="Send something back within 30 days.",
    routes=[Route("/", _returns, name="account_returns", methods=["GET", "HEAD"])], menu_route="account_returns",
    audience="everyone", order=40, keywords=["return an item", "send it back", "wrong size"],
)
BUILTIN = builtin_actions()


def slugs(query: str, actions: list[AccountAction] = BUILTIN, **kw: bool | None) -> list[str]:
    return [a.slug for a in match_actions(query, actions, **kw)]


# -- the matcher ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "slug"), [
    ("forgot my password", "reset"),
    ("How do I reset my password?", "reset"),
    ("I can't log in", "reset"),
    ("I can’t sign in", "reset"),  # a typographic apostrophe
    ("locked out of my account", "reset"),
    ("where is my order", "orders"),
    ("Where’s my parcel?", "orders"),
    ("order tracking", "orders"),
    ("my order hasn't arrived, order number LH-100234", "orders"),
    ("how do I pay my bill", "billing"),
    ("download invoices", "billing"),
    ("change address", "details"),
    ("I've moved house", "details"),
    ("update my email address", "details"),
    ("what is my username", "username"),
])
def test_builtin_keywords_find_their_action_first(query: str, slug: str) -> None:
    assert slugs(query)[:1] == [slug]


@pytest.mark.parametrize("query", [
    "kitchen sink", "refund", "how long does delivery take", "password", "orders", "change", "router setup",
    "the", "", "   ", "!!!", "a" * 5000, "pay", "where", "my account",
])
def test_unrelated_or_vague_queries_match_nothing(query: str) -> None:
    assert slugs(query) == []


def test_words_are_lower_cased_stemmed_and_stripped_of_filler() -> None:
    assert words("Tracking my ORDERS, please!") == ["track", "order"]
    assert words("I can't log in") == words("I cannot log in") == words("I can not log in") == ["cannot", "log"]
    assert words("invoice") == words("invoices") and words("billing") == words("bills")
    assert words("Café") == words("cafe")


def test_longer_phrases_win_then_more_phrases_then_menu_order() -> None:
    def action(slug: str, order: int, *keywords: str) -> AccountAction:
        return AccountAction(slug=slug, title=slug, summary="", routes=[], menu_route=slug, order=order, keywords=keywords)

    one, two, late = action("one", 1, "gift"), action("two", 2, "gift card"), action("late", 9, "gift", "card")
    assert slugs("gift card balance", [one, two, late]) == ["two", "late", "one"]
    assert slugs("gift", [late, one]) == ["one", "late"]
    assert len(slugs("forgot password, where is my order, pay bill, change address")) == 3  # at most three


def test_audience_signed_out_actions_leave_for_signed_in_customers() -> None:
    assert slugs("forgot my username", signed_in=True) == []
    assert slugs("forgot my username", signed_in=False) == ["username"]
    assert slugs("forgot my username", signed_in=None) == ["username"]
    billing = next(a for a in BUILTIN if a.slug == "billing")
    assert slugs("pay my bill", signed_in=False) == ["billing"]  # still offered: its page asks to sign in
    assert needs_sign_in(billing, False) and needs_sign_in(billing, None) and not needs_sign_in(billing, True)


def test_host_actions_match_on_keywords_or_else_their_title() -> None:
    assert slugs("this jumper is the wrong size", [*BUILTIN, RETURNS]) == ["returns"]
    plain = AccountAction(slug="gift", title="Redeem a gift card", summary="", routes=[], menu_route="x")
    assert slugs("how to redeem gift cards", [plain]) == ["gift"]
    assert slugs("gift", [plain]) == []  # every word of the phrase is needed


@pytest.mark.parametrize("bad", ["forgot password", ["ok", ""], [3]])
def test_keywords_must_be_a_list_of_phrases(bad: object) -> None:
    with pytest.raises(ValueError, match="keywords"):
        AccountAction(slug="x", title="X", summary="", routes=[], menu_route="x", keywords=bad)  # type: ignore[arg-type]


def test_keywords_are_optional_and_stored_as_a_tuple() -> None:
    action = AccountAction(slug="x", title="X", summary="", routes=[], menu_route="x", keywords=["a b"])
    assert action.keywords == ("a b",)
    assert AccountAction(slug="y", title="Y", summary="", routes=[], menu_route="y").keywords == ()


# -- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def h(tmp_path: Path, demo_dir: Path) -> Iterator[Harness]:
    yield from make(tmp_path, demo_dir, account_actions=[RETURNS])


def _quick_actions(page: str) -> list[tuple[str, str]]:
    box = re.search(r'<nav class="ss-notice ss-quick-actions".*?</nav>', page, re.S)
    if box is None:
        return []
    return [(href, html.unescape(text)) for href, text in re.findall(r'<a class="ss-quick-actions__link" href="([^"]+)">([^<]+)</a>', box.group(0))]


def test_search_page_offers_the_reset_action_above_the_results(h: Harness) -> None:
    r = h.c.get("/search", params={"q": "forgot my password"})
    assert r.status_code == 200
    assert _quick_actions(r.text) == [("/account/reset", "Reset your password")]
    assert r.text.index('id="ss-actions"') < r.text.index('class="ss-results"')
    assert h.c.get("/account/reset").status_code == 200
    assert _quick_actions(h.c.get("/search", params={"q": "kitchen sink"}).text) == []


def test_search_page_marks_actions_that_need_signing_in(h: Harness) -> None:
    r = h.c.get("/search", params={"q": "pay my bill"})
    assert _quick_actions(r.text) == [("/account/billing", "Bills and payments")]
    assert "(sign in needed)" in r.text
    h.sign_in()
    r = h.c.get("/search", params={"q": "pay my bill"})
    assert _quick_actions(r.text) == [("/account/billing", "Bills and payments")] and "(sign in needed)" not in r.text
    assert _quick_actions(h.c.get("/search", params={"q": "forgot my username"}).text) == []  # signed in already


def test_api_search_lists_actions_with_absolute_urls(h: Harness) -> None:
    body = h.c.get("/api/search", params={"q": "forgot my password"}).json()
    assert body["actions"] == [{"slug": "reset", "title": "Reset your password", "url": BASE + "/account/reset",
                                "summary": "Forgotten it? We'll email you a link to choose a new one.", "sign_in": False}]
    assert h.c.get("/api/search", params={"q": "kitchen sink"}).json()["actions"] == []
    assert h.c.get("/api/search", params={"q": ""}).json()["actions"] == []
    assert h.c.get("/api/search", params={"q": "forgot my password", "offset": 5}).json()["actions"] == []


def test_a_host_action_is_found_by_search_and_listed(h: Harness) -> None:
    assert _quick_actions(h.c.get("/search", params={"q": "I want to send it back"}).text) == [
        ("/account/returns", "Start a return")]
    found = h.c.get("/api/search", params={"q": "wrong size"}).json()["actions"]
    assert [a["url"] for a in found] == [BASE + "/account/returns"]
    assert h.c.get(found[0]["url"].removeprefix(BASE)).text == "Start a return"
    r = h.c.get("/api/actions")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=300"
    listed = {a["slug"]: a for a in r.json()["actions"]}
    assert list(listed) == ["orders", "details", "billing", "returns", "reset", "username"]  # menu order
    assert listed["returns"] == {"slug": "returns", "title": "Start a return", "summary": "Send something back within 30 days.",
                                 "url": BASE + "/account/returns", "audience": "everyone",
                                 "keywords": ["return an item", "send it back", "wrong size"]}
    assert "forgot password" in listed["reset"]["keywords"] and listed["billing"]["audience"] == "signed_in"


def test_without_account_pages_there_are_no_actions(tmp_path: Path, demo_dir: Path) -> None:
    from starlette.testclient import TestClient

    from selfservice import Settings, create_portal
    from tests.conftest import SECRET

    portal = create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path))
    with TestClient(portal) as client:
        assert client.get("/api/actions").json() == {"actions": []}
        assert client.get("/api/search", params={"q": "forgot my password"}).json()["actions"] == []
        assert 'id="ss-actions"' not in client.get("/search", params={"q": "forgot my password"}).text


def test_the_openapi_document_describes_actions(h: Harness) -> None:
    spec = h.c.get("/api/openapi.json").json()
    assert spec["paths"]["/api/actions"]["get"]["operationId"] == "listActions"
    assert spec["components"]["schemas"]["SearchResults"]["properties"]["actions"]["items"] == {
        "$ref": "#/components/schemas/ActionLink"}
