"""The embeddable help widget: the committed build, ``/widget.js``, ``/api/contextual``
and the widget itself in a real (Debian) Chromium driven by Playwright."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from selfservice import Portal, Settings, create_portal
from selfservice.views import widget
from tests.conftest import SECRET
from tests.live import (
    launch_chromium,
    listening_socket,
    serve_at,
    serving,
    watched_page,
)

ROOT = Path(__file__).resolve().parent.parent
WIDGETS = ROOT / "widgets"
BUILT = ROOT / "selfservice" / "static" / "widget.js"
SOURCES = ("build.mjs", "src/widget.css", "src/widget.js")  # as hashed by widgets/build.mjs
HOST_ORIGIN = "https://shop.example"


def with_widget_routes(portal: Portal) -> Portal:
    """Add the widget's routes to ``portal`` unless ``create_portal`` already has them."""
    paths = {getattr(route, "path", None) for route in portal.router.routes}
    if "/widget.js" not in paths:
        portal.router.routes.insert(0, Route("/widget.js", widget.widget_js, name="widget_js", methods=["GET", "HEAD"]))
    if "/api/contextual" not in paths:
        portal.router.routes.insert(
            0, Route("/api/contextual", widget.contextual, name="api_contextual", methods=["GET", "HEAD"])
        )
    return portal


# -- the committed build ---------------------------------------------------------------------
def test_committed_build_is_at_most_15_kib_gzipped() -> None:
    size = len(gzip.compress(BUILT.read_bytes(), compresslevel=9))
    assert size <= 15_360, f"widget.js is {size} bytes gzipped; the budget is 15,360"


def test_committed_build_was_made_from_the_current_sources() -> None:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (WIDGETS / name).read_bytes() + b"\0")
    banner = re.search(r"source sha256:([0-9a-f]{64})", BUILT.read_text(encoding="utf-8")[:300])
    assert banner is not None, "widget.js has no build banner: run `npm run build` in widgets/"
    assert banner.group(1) == digest.hexdigest(), "widget.js is stale: run `npm ci && npm run build` in widgets/"


def test_committed_build_matches_a_fresh_build() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (the source digest test still guards the build)")
    if not (WIDGETS / "node_modules" / "esbuild").is_dir():
        pytest.skip("esbuild is not installed: run `npm ci` in widgets/ (the source digest test still guards the build)")
    done = subprocess.run(["node", "build.mjs", "--check"], cwd=WIDGETS, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or done.stdout


# -- /widget.js and /api/contextual ------------------------------------------------------------
ARTICLES = {
    "checkout-basics": ("Checkout basics", '["/checkout*"]'),
    "card-payments": ("Card payments", '["/checkout/payment*"]'),
    "checkout-key": ("Checkout by key", '["checkout"]'),
    "both-ways": ("Both ways", '["/checkout*", "checkout"]'),
    "account-page": ("Your account", '["/account*"]'),
    "no-contexts": ("Nowhere in particular", "[]"),
    **{f"bulk-{i}": (f"Bulk {9 - i}", '["/bulk/*"]') for i in range(1, 9)},
}


@pytest.fixture(scope="module")
def rules_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    content = tmp_path_factory.mktemp("widget-content")
    (content / "shop").mkdir()
    for slug, (title, contexts) in ARTICLES.items():
        (content / "shop" / f"{slug}.md").write_text(
            f"---\ntitle: {title}\nsummary: About {title.lower()}.\ncontexts: {contexts}\n---\n\nText.\n", encoding="utf-8"
        )
    settings = Settings(
        content_dirs=[content], secret_key=SECRET, data_dir=tmp_path_factory.mktemp("widget-data"), allowed_origins=[HOST_ORIGIN]
    )
    portal = with_widget_routes(create_portal(settings))
    with TestClient(Starlette(routes=[Mount("/help", app=portal)])) as client:
        yield client


def test_widget_js_is_served_as_javascript_with_etag_and_gzip(rules_client: TestClient) -> None:
    r = rules_client.get("/help/widget.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert r.headers["content-encoding"] == "gzip" and r.content == BUILT.read_bytes()
    assert r.headers["cache-control"] == "public, max-age=300"
    again = rules_client.get("/help/widget.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = rules_client.head("/help/widget.js", headers={"accept-encoding": "identity"})
    assert head.status_code == 200 and head.headers["content-length"] == str(len(BUILT.read_bytes()))


def _titles(client: TestClient, **params: str) -> list[str]:
    r = client.get("/help/api/contextual", params=params)
    assert r.status_code == 200, r.text
    return [item["title"] for item in r.json()["results"]]


def test_contextual_ranks_by_matches_then_specificity_then_title(rules_client: TestClient) -> None:
    assert _titles(rules_client, path="/checkout/payment/card", context="checkout") == [
        "Both ways",  # two entries match
        "Card payments",  # /checkout/payment* is more specific than /checkout*
        "Checkout basics",
        "Checkout by key",
    ]
    assert _titles(rules_client, path="/checkout") == ["Both ways", "Checkout basics"]
    assert _titles(rules_client, context="checkout") == ["Both ways", "Checkout by key"]
    assert _titles(rules_client, path="/account/orders/42") == ["Your account"]


def test_contextual_matching_rules(rules_client: TestClient) -> None:
    assert _titles(rules_client, path="/Checkout") == []  # paths are case-sensitive
    assert _titles(rules_client, path="/account", context="account") == ["Your account"]  # a key is not a glob
    assert _titles(rules_client, context="checkout-page") == []  # keys match exactly
    assert _titles(rules_client) == []
    assert _titles(rules_client, path="/bulk/list") == [f"Bulk {i}" for i in range(1, 7)]  # capped at 6, by title


def test_contextual_results_carry_absolute_urls(rules_client: TestClient) -> None:
    r = rules_client.get("/help/api/contextual", params={"path": "/checkout"}, headers={"origin": HOST_ORIGIN})
    assert r.headers["access-control-allow-origin"] == HOST_ORIGIN
    item = r.json()["results"][0]
    assert set(item) >= {"slug", "title", "url", "summary"}
    assert item["url"] == "http://testserver/help/a/both-ways" and item["summary"] == "About both ways."


@pytest.mark.parametrize(
    "params",
    [
        {"path": "checkout"},
        {"path": "https://shop.example/checkout"},
        {"path": "/" + "a" * 2048},
        {"context": "Checkout"},
        {"context": "a" * 65},
        {"context": "<script>"},
        {"path": "/checkout", "context": "check out"},
    ],
)
def test_contextual_rejects_bad_parameters(rules_client: TestClient, params: dict[str, str]) -> None:
    r = rules_client.get("/help/api/contextual", params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400 and isinstance(body["error"], str) and body["error"]


def test_contextual_accepts_the_longest_path(rules_client: TestClient) -> None:
    assert _titles(rules_client, path="/" + "a" * 2047, context="a" * 64) == []


def test_contact_info_without_business_hours(rules_client: TestClient) -> None:
    r = rules_client.get("/help/api/contact", headers={"origin": HOST_ORIGIN})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.headers["access-control-allow-origin"] == HOST_ORIGIN
    body = r.json()
    assert body["open_now"] is None and body["hours_url"] is None
    assert body["contact_url"] == "http://testserver/help/contact"
    assert body["status_url"] == "http://testserver/help/requests/status"
    assert {"value": "other", "label": "Something else"} in body["topics"]


def test_contact_info_follows_the_clock(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    now = [datetime(2026, 6, 8, 10, 0, tzinfo=UTC)]  # a Monday, 11:00 in London
    hours = {"timezone": "Europe/London",
             "channels": {"phone": {"label": "Phone", "hours": {"mon-fri": "09:00-17:30"}}}}
    settings = Settings(content_dirs=[tmp_path], secret_key=SECRET, data_dir=tmp_path / "data",
                        business_hours=hours, clock=lambda: now[0], request_topics={"other": "Something else"})
    with TestClient(create_portal(settings)) as client:
        assert client.get("/api/contact").json()["open_now"] == {
            "open": True, "headline": "Open now", "detail": "Phone until 5:30\u202fPM", "closure": None}
        now[0] = datetime(2026, 6, 13, 12, 0, tzinfo=UTC)  # Saturday
        body = client.get("/api/contact").json()
        assert body["open_now"] == {"open": False, "headline": "Closed now", "detail": "Phone opens Monday at 9:00\u202fAM",
                                    "closure": None}
        assert body["hours_url"] == "http://testserver/hours" and body["topics"] == [{"value": "other", "label": "Something else"}]


def test_survey_answers_keep_the_widgets_context(tmp_path: Path) -> None:
    """What ``SelfService.ask(kind, context)`` posts is stored with the answer."""
    import json

    from selfservice.cli import main

    data = tmp_path / "data"
    settings = Settings(content_dirs=[tmp_path], secret_key=SECRET, data_dir=data)
    with TestClient(create_portal(settings)) as client:
        assert client.post("/api/surveys/csat", json={"score": 4, "context": "order-42"}).status_code == 201
        assert client.post("/api/surveys/nps", json={"score": 9, "context": None}).status_code == 201
        for bad in (7, "x" * 201, ["checkout"]):
            r = client.post("/api/surveys/nps", json={"score": 9, "context": bad})
            assert r.status_code == 422 and "context" in r.json()["errors"], bad
    target = tmp_path / "surveys.json"
    assert main(["export", "surveys", "--format", "json", "--output", str(target), "--data-dir", str(data)]) == 0
    stored = {(s["kind"], s["score"]): s["context"] for s in json.loads(target.read_text())}
    assert stored == {("csat", 4): {"source": "api", "context": "order-42"}, ("nps", 9): {"source": "api"}}


# -- in a real browser ---------------------------------------------------------------------
def _host_page(src: str, **data: str) -> str:
    attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in data.items())
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Checkout</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body><h1>Checkout</h1><button id="pay">Pay now</button><script src="{escape(src)}"{attrs} defer></script></body></html>'
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One uvicorn serving the host app on two ports: the page's origin and another one."""
    page_sock, other_sock = listening_socket(), listening_socket()
    page_origin = f"http://127.0.0.1:{page_sock.getsockname()[1]}"
    other_origin = f"http://127.0.0.1:{other_sock.getsockname()[1]}"
    portal = with_widget_routes(
        create_portal(Settings(demo=True, data_dir=tmp_path_factory.mktemp("live"), allowed_origins=[page_origin]))
    )

    async def checkout(request: Request) -> HTMLResponse:
        return HTMLResponse(_host_page("/help/widget.js", title="Need help?", context="checkout"))

    async def checkout_remote(request: Request) -> HTMLResponse:
        src = f"{other_origin}/help/widget.js"
        return HTMLResponse(_host_page(src, title="Questions?", context="checkout", accent="#0a7d45"))

    host = Starlette(
        routes=[
            Route("/checkout", checkout),
            Route("/checkout/remote", checkout_remote),
            Mount("/help", app=portal),
        ]
    )
    try:
        with serving(host, [page_sock, other_sock]):
            yield {"origin": page_origin, "other": other_origin, "portal": portal}
    finally:
        page_sock.close()
        other_sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as b:
        yield b


def _checkout_titles(portal: Portal) -> list[str]:
    arts = portal.ss.library.articles.values()
    return sorted((a.title for a in arts if "/checkout*" in a.contexts), key=str.lower)[:6]


def test_widget_in_a_browser_same_origin(live: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import Route as PwRoute
    from playwright.sync_api import expect

    origin = live["origin"]
    with watched_page(browser) as (page, errors):
        page.goto(f"{origin}/checkout")
        launcher = page.get_by_role("button", name="Need help?")
        launcher.click()
        dialog = page.get_by_role("dialog", name="Need help?")
        expect(dialog).to_be_visible()
        expect(dialog).to_have_attribute("aria-modal", "true")
        search = dialog.get_by_role("searchbox", name="Search help articles")
        expect(search).to_be_focused()

        # Page-aware suggestions: the demo articles whose contexts include /checkout*.
        suggested = dialog.get_by_role("list", name="Suggested for this page")
        expect(suggested.locator(".t")).to_have_text(_checkout_titles(live["portal"]))
        expect(dialog.get_by_role("button", name="Contact us")).to_be_visible()

        # Search as you type; the live region announces the count.
        search.press_sequentially("refund")
        results = dialog.get_by_role("list", name="Results")
        expect(results).to_have_attribute("aria-busy", "false")  # the answer for the whole word
        first = results.get_by_role("link").first
        expect(first).to_be_visible()
        expect(dialog.locator(".live")).to_have_text(re.compile(r"^\d+ results?$"))
        title = first.locator(".t").inner_text()
        slug = first.get_attribute("data-slug")
        page.keyboard.press("ArrowDown")
        expect(first).to_be_focused()
        page.keyboard.press("Enter")

        # The article, inline, with a link out and "Was this helpful?".
        expect(dialog.get_by_role("heading", name=title, level=3)).to_be_visible()
        expect(dialog.locator(".content p").first).to_be_visible()
        expect(dialog.get_by_role("link", name="Open in help centre")).to_have_attribute("href", f"{origin}/help/a/{slug}")
        posted: list[Any] = []

        def accept(route: PwRoute) -> None:
            posted.append(route.request.post_data_json)
            route.fulfill(status=201, json={"ok": True})

        page.route("**/help/api/feedback", accept)
        dialog.get_by_role("button", name="Yes").click()
        expect(dialog.get_by_text("Thanks for your feedback!")).to_be_visible()
        assert posted == [{"page": f"article:{slug}", "helpful": True}]

        dialog.get_by_role("button", name="Back").click()
        expect(first).to_be_focused()

        # Escape closes and gives focus back to the launcher.
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_be_focused()
        expect(launcher).to_have_attribute("aria-expanded", "false")

        # Focus stays inside the open dialog.
        page.keyboard.press("Enter")
        expect(search).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(dialog.get_by_role("button", name="Close")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(dialog.get_by_role("button", name="Contact us")).to_be_focused()
        page.keyboard.press("Tab")
        expect(dialog.get_by_role("button", name="Close")).to_be_focused()

        # SelfService.ask: a rating view; a failed POST says so, a good one thanks.
        page.route("**/help/api/surveys/nps", lambda route: route.fulfill(status=500, json={"error": "x", "status": 500}))
        page.evaluate("SelfService.ask('nps', 'checkout-survey')")
        expect(dialog.get_by_role("radio")).to_have_count(11)
        dialog.get_by_role("radio", name="9", exact=True).check()
        dialog.get_by_role("textbox", name="Comment (optional)").fill("Quick")
        dialog.get_by_role("button", name="Send").click()
        expect(dialog.get_by_text("We couldn't send your answer. Please try again.")).to_be_visible()
        page.unroute("**/help/api/surveys/nps")
        posted.clear()
        page.route("**/help/api/surveys/nps", accept)
        dialog.get_by_role("button", name="Send").click()
        expect(dialog.get_by_text("Thank you! Your answer has been sent.")).to_be_visible()
        assert posted == [{"score": 9, "comment": "Quick", "context": "checkout-survey"}]
        page.evaluate("SelfService.ask('csat')")
        expect(dialog.get_by_role("radio")).to_have_count(5)
        expect(dialog.get_by_role("radio", name="1 star", exact=True)).to_be_focused()
        page.evaluate("SelfService.close()")
        expect(dialog).to_be_hidden()
        page.evaluate("SelfService.open('delivery')")
        expect(dialog.get_by_role("list", name="Results").get_by_role("link").first).to_be_visible()
        assert errors == []


def test_widget_in_a_browser_cross_origin_dark_and_small(live: dict[str, Any], browser: Any) -> None:
    from playwright.sync_api import expect

    with watched_page(browser, color_scheme="dark", reduced_motion="reduce", viewport={"width": 400, "height": 700}) as (page, errors):
        page.goto(f"{live['origin']}/checkout/remote")
        launcher = page.get_by_role("button", name="Questions?")
        expect(launcher).to_have_css("background-color", "rgb(10, 125, 69)")  # data-accent
        launcher.click()
        dialog = page.get_by_role("dialog", name="Questions?")
        expect(dialog).to_have_css("background-color", "rgb(23, 27, 36)")  # dark scheme
        box = dialog.bounding_box()
        assert box is not None and (box["width"], box["height"]) == (400, 700)  # full screen on a phone
        suggested = dialog.get_by_role("list", name="Suggested for this page")
        expect(suggested.locator(".t")).to_have_text(_checkout_titles(live["portal"]))
        expect(suggested.get_by_role("link").first).to_have_attribute("href", re.compile("^" + re.escape(live["other"])))
        dialog.get_by_role("searchbox").fill("refund")
        results = dialog.get_by_role("list", name="Results")
        expect(results).to_have_attribute("aria-busy", "false")
        first = results.get_by_role("link").first
        title = first.locator(".t").inner_text()
        first.click()
        expect(dialog.get_by_role("heading", name=title, level=3)).to_be_visible()
        expect(dialog.locator(".content p").first).to_be_visible()
        assert errors == []


def test_widget_ask_box_quick_actions_and_contact_form(live: dict[str, Any], browser: Any) -> None:
    """The instant answer for a question, account actions for "reset my password" (opening
    the portal's page), and the contact form: open/closed status, field errors, the reference.
    Everything here talks to the real portal (no mocked routes)."""
    from playwright.sync_api import expect

    from selfservice.references import parse
    from selfservice.views.hours import open_now_view

    origin, portal = live["origin"], live["portal"]
    with watched_page(browser) as (page, errors):
        page.goto(f"{origin}/checkout")
        page.get_by_role("button", name="Need help?").click()
        dialog = page.get_by_role("dialog", name="Need help?")
        search = dialog.get_by_role("searchbox", name="Search help articles")

        # A question the index answers with confidence: the passage and a link to its section.
        expected = portal.ss.index.answer("how long does a refund take")
        assert expected is not None
        search.fill("how long does a refund take")
        box = dialog.get_by_role("region", name="Quick answer")
        expect(box).to_be_visible()
        expect(box.locator(".atext")).to_have_text(expected.text)
        link = box.get_by_role("link")
        doc = portal.ss.library.document(expected.slug)
        expect(link).to_have_attribute("href", f"{origin}/help{doc.url_path}" + (f"#{expected.anchor}" if expected.anchor else ""))
        expect(dialog.locator(".live")).to_have_text(re.compile(r"^Quick answer, (\d+ results?|no results)$"))
        page.keyboard.press("ArrowDown")
        expect(link).to_be_focused()  # the answer comes first in the arrow-key order
        page.keyboard.press("Enter")
        expect(dialog.get_by_role("heading", name=doc.title, level=3)).to_be_visible()
        # The real feedback endpoint accepts what the widget sends.
        dialog.get_by_role("button", name="Yes").click()
        expect(dialog.get_by_text("Thanks for your feedback!")).to_be_visible()
        dialog.get_by_role("button", name="Back").click()
        expect(link).to_be_focused()

        # "Reset my password" offers the account action; activating it opens the reset page.
        search.fill("how do I reset my password")
        actions = dialog.get_by_role("list", name="Quick actions")
        action = actions.get_by_role("link", name=re.compile(r"^Reset your password"))
        expect(action).to_be_visible()
        expect(action).to_have_attribute("href", f"{origin}/help/account/reset")
        expect(action).to_have_accessible_name(re.compile(r"\(opens in a new tab\)$"))
        expect(dialog.locator(".live")).to_have_text(re.compile(r"1 quick action"))
        expect(dialog.get_by_role("list", name="Quick actions").get_by_role("link", name=re.compile("Bills"))).to_have_count(0)
        action.focus()
        with page.context.expect_page() as opened:
            page.keyboard.press("Enter")
        reset = opened.value
        reset.wait_for_load_state()
        assert reset.url == f"{origin}/help/account/reset"
        expect(reset.get_by_role("heading", level=1)).to_have_text(re.compile("password", re.I))
        reset.close()
        search.fill("pay my bill")
        expect(actions.get_by_role("link", name=re.compile(r"^Bills and payments.*Sign in needed"))).to_be_visible()
        search.fill("kitchen sink")
        expect(dialog.locator(".live")).to_have_text(re.compile(r"^(\d+ results?|No results)$"))
        expect(actions).to_be_hidden()

        # The contact form: open or closed now (from the business hours), errors, the reference.
        search.fill("parcel arrived damaged")
        dialog.get_by_role("button", name="Contact us").click()
        expect(dialog.get_by_role("heading", name="Contact us", level=3)).to_be_focused()
        now = open_now_view(portal.hours, portal.clock())
        status = dialog.locator(".contact .hours")
        expect(status).to_contain_text(f"{now.headline}")
        if now.detail:
            expect(status).to_contain_text(now.detail)
        expect(status.get_by_role("link", name=re.compile("^Opening hours"))).to_have_attribute("href", f"{origin}/help/hours")
        expect(dialog.get_by_role("textbox", name="Subject")).to_have_value("parcel arrived damaged")
        expect(dialog.get_by_role("combobox", name="Topic").locator("option")).to_have_count(len(portal.ss.settings.request_topics))
        dialog.get_by_role("button", name="Send message").click()
        email = dialog.get_by_role("textbox", name="Your email address")
        expect(email).to_be_focused()  # the first field with a problem
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(dialog.locator(".cerr")).to_be_visible()
        email.fill("cleo@example.com")
        dialog.get_by_role("combobox", name="Topic").select_option("order")
        dialog.get_by_role("textbox", name="Your message").fill("The box was crushed and the mug inside is broken.")
        dialog.get_by_role("button", name="Send message").click()
        ref = dialog.locator(".ref")
        expect(ref).to_have_text(re.compile(r"^Thank you\. Your reference is R-[A-Z0-9]{4}-[A-Z0-9]{4}\.$"))
        expect(ref).to_be_focused()
        expect(dialog.locator(".live")).to_have_text(ref.inner_text())
        reference = ref.inner_text().split()[-1].rstrip(".")
        assert parse(reference) == reference  # a real reference: its check digit holds
        expect(dialog.get_by_role("link", name=re.compile("^Check your request's progress"))).to_have_attribute(
            "href", f"{origin}/help/requests/status")
        # A second message starts from a fresh form (a new Idempotency-Key, the button enabled).
        dialog.get_by_role("button", name="Back").click()
        expect(dialog.get_by_role("button", name="Contact us")).to_be_focused()  # back to what opened it
        page.keyboard.press("Enter")
        expect(dialog.get_by_role("button", name="Send message")).to_be_enabled()
        expect(email).to_have_value("")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        assert errors == []


def _axe_on_widget(page: Any, view: str, seen: str) -> list[str]:
    """axe-core on the whole page; fails unless axe looked inside the widget's shadow root
    (its node targets are ``[["selfservice-widget", "<selector in the shadow root>"]]``): it must
    have checked ``seen``, an element of the view on show."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="needs axe-playwright-python (test extra)")
    from tests.live import SEVERE

    result = axe_module.Axe().run(page).response
    inside = {
        str(node["target"][0][1])
        for group in ("passes", "incomplete", "violations")
        for rule in result[group]
        for node in rule["nodes"]
        if isinstance(node["target"][0], list) and node["target"][0][0] == "selfservice-widget"
    }
    assert seen in inside, f"axe did not inspect the widget's shadow root ({view}): {inside}"
    return [
        f"{view}: {v['id']} [{v['impact']}] {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SEVERE
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_open_widget_has_no_serious_axe_violations(live: dict[str, Any], browser: Any, scheme: str) -> None:
    """axe-core reaches into the open shadow root: results, the article view and the contact form."""
    from playwright.sync_api import expect

    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(f"{live['origin']}/checkout")
        page.get_by_role("button", name="Need help?").click()
        dialog = page.get_by_role("dialog", name="Need help?")
        assert page.evaluate("document.querySelector('selfservice-widget').shadowRoot !== null")  # open, so axe can see it
        dialog.get_by_role("searchbox", name="Search help articles").fill("how long does a refund take")
        results = dialog.get_by_role("list", name="Results")
        expect(results).to_have_attribute("aria-busy", "false")
        expect(results.get_by_role("link").first).to_be_visible()
        expect(dialog.locator(".live")).to_have_text(re.compile(r"results?$"))
        failures = _axe_on_widget(page, "results", "#q")

        results.get_by_role("link").first.click()
        expect(dialog.locator(".content p").first).to_be_visible()
        failures += _axe_on_widget(page, "article", "#at")

        dialog.get_by_role("button", name="Back").click()
        dialog.get_by_role("button", name="Contact us").click()
        dialog.get_by_role("button", name="Send message").click()  # with field errors shown
        expect(dialog.get_by_role("textbox", name="Your email address")).to_have_attribute("aria-invalid", "true")
        expect(dialog.locator(".contact .hours")).to_be_visible()
        failures += _axe_on_widget(page, "contact form", "#ce")
    finally:
        context.close()
    assert not failures, "\n".join(failures)


# -- the widget in a second language -----------------------------------------------------------
def test_strings_endpoint_speaks_the_asked_language(rules_client: TestClient) -> None:
    from selfservice.i18n import translations

    de = rules_client.get("/help/api/widget/strings", params={"lang": "de"})
    assert de.status_code == 200 and de.headers["content-language"] == "de"
    body = de.json()
    assert body["lang"] == "de" and list(body["strings"]) == list(widget.STRINGS)
    assert body["strings"]["Suggested for this page"] == "Vorschläge für diese Seite"
    gettext = translations("de").gettext
    assert all(body["strings"][s] == gettext(s) != s for s in widget.STRINGS)  # every one translated
    rules_client.cookies.clear()  # ?lang=de chose German for the next requests too
    en = rules_client.get("/help/api/widget/strings", params={"lang": "xx"}).json()  # unknown: the default
    assert en["lang"] == "en" and all(k == v for k, v in en["strings"].items())


def test_strings_are_the_ones_the_widget_uses() -> None:
    """STRINGS and widgets/src/widget.js name the same sentences (the keys the script looks up)."""
    source = (WIDGETS / "src" / "widget.js").read_text(encoding="utf-8")
    missing = [s for s in widget.STRINGS if s not in source]
    assert not missing, f"in STRINGS but not in widget.js: {missing}"
    looked_up = set(re.findall(r'this\.t\(\s*"([^"]+)"', source))
    looked_up |= {s for pair in re.findall(r'plural\([^,]+, "([^"]+)", "([^"]+)"\)', source) for s in pair}
    consts = dict(re.findall(r'^const (\w+) = "([^"]+)";', source, re.M))
    looked_up |= {consts[name] for name in re.findall(r"this\.t\((\w+)\)", source)}
    assert looked_up <= set(widget.STRINGS), f"looked up but not in STRINGS: {looked_up - set(widget.STRINGS)}"


@pytest.fixture(scope="module")
def live_de(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A portal with an English article, its German translation and an English-only one,
    and host pages that ask for German with data-lang or with <html lang="de">."""
    content = tmp_path_factory.mktemp("widget-de")
    shop = content / "shop"
    shop.mkdir()
    (shop / "refunds.md").write_text(
        '---\ntitle: Refunds\nsummary: How refunds work.\ncontexts: ["/kasse*"]\n---\n\nA refund takes five days.\n',
        encoding="utf-8")
    (shop / "refunds.de.md").write_text(
        "---\ntitle: Erstattungen\nsummary: So funktionieren Erstattungen.\n---\n\n"
        "Erstattungen dauern fünf Werktage nach Eingang der Rücksendung.\n", encoding="utf-8")
    (shop / "delivery.md").write_text(
        '---\ntitle: Delivery\nsummary: When parcels arrive.\ncontexts: ["/kasse*"]\n---\n\nParcels arrive in two days.\n',
        encoding="utf-8")
    portal = create_portal(Settings(content_dirs=[content], secret_key=SECRET, data_dir=tmp_path_factory.mktemp("live-de")))

    async def kasse(request: Request) -> HTMLResponse:  # an English page with a German widget
        return HTMLResponse(_host_page("/help/widget.js", title="Hilfe?", lang="de"))

    async def seite(request: Request) -> HTMLResponse:  # a German page: the widget follows it
        return HTMLResponse(_host_page("/help/widget.js", title="Hilfe?").replace("<html lang=en>", "<html lang=de>"))

    with serve_at(Starlette(routes=[Route("/kasse", kasse), Route("/kasse/de", seite), Mount("/help", app=portal)])) as origin:
        yield {"origin": origin, "portal": portal}


@pytest.mark.parametrize("path", ["/kasse", "/kasse/de"], ids=["data-lang", "html-lang"])
def test_widget_in_german(live_de: dict[str, Any], browser: Any, path: str) -> None:
    """Labels, suggestions, results, the live region, the article and the contact form in
    German, and lang=de on every call whose answer the widget shows."""
    from playwright.sync_api import expect

    from selfservice.i18n import translations

    origin = live_de["origin"]
    with watched_page(browser, locale="en-US") as (page, errors):  # the browser asks for English: lang=de must win
        calls: list[str] = []
        page.on("request", lambda r: calls.append(r.url) if "/help/api/" in r.url else None)
        page.goto(origin + path)
        page.get_by_role("button", name="Hilfe?").click()
        dialog = page.get_by_role("dialog", name="Hilfe?")
        expect(dialog).to_have_attribute("lang", "de")
        search = dialog.get_by_role("searchbox", name="Hilfeartikel durchsuchen")
        expect(search).to_be_focused()
        expect(search).to_have_attribute("placeholder", "Antworten suchen …")
        expect(dialog.get_by_role("button", name="Schließen")).to_be_visible()
        expect(dialog.get_by_role("button", name="Kontakt")).to_be_visible()

        # Suggestions: the German translation's title, the English-only article as it is.
        suggested = dialog.get_by_role("list", name="Vorschläge für diese Seite")
        expect(suggested.locator(".t")).to_have_text(["Delivery", "Erstattungen"])

        search.fill("Erstattungen")
        results = dialog.get_by_role("list", name="Ergebnisse")
        expect(results.locator(".t")).to_have_text(["Erstattungen"])
        expect(dialog.locator(".live")).to_have_text("1 Ergebnis")
        failures = _axe_on_widget(page, "results in German", "#q")  # e.g. valid-lang on the panel
        assert not failures, "\n".join(failures)
        search.fill("zzzqqq")
        expect(dialog.locator(".live")).to_have_text("Keine Ergebnisse")
        expect(dialog.locator(".smsg")).to_have_text("Keine Ergebnisse für „zzzqqq“. Versuchen Sie andere Wörter oder kontaktieren Sie uns.")

        # The article opens in German.
        search.fill("Erstattungen")
        results.get_by_role("link").first.click()
        expect(dialog.get_by_role("heading", name="Erstattungen", level=3)).to_be_visible()
        expect(dialog.locator(".content")).to_contain_text("fünf Werktage")
        expect(dialog.get_by_text("War das hilfreich?")).to_be_visible()
        dialog.get_by_role("button", name="‹ Zurück").click()

        # The contact form: German labels, topics and field messages, the reference.
        dialog.get_by_role("button", name="Kontakt").click()
        topics = dialog.get_by_role("combobox", name="Thema")
        expect(topics.locator("option[value=other]")).to_have_text(translations("de").gettext("Something else"))
        dialog.get_by_role("button", name="Nachricht senden").click()
        email = dialog.get_by_role("textbox", name="Ihre E-Mail-Adresse")
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(dialog.locator(".cerr")).to_contain_text("E-Mail-Adresse")
        email.fill("cleo@example.com")
        dialog.get_by_role("textbox", name="Ihre Nachricht").fill("Meine Erstattung ist noch nicht angekommen.")
        dialog.get_by_role("button", name="Nachricht senden").click()
        ref = dialog.locator(".ref")
        expect(ref).to_have_text(re.compile(r"^Vielen Dank\. Ihre Vorgangsnummer ist R-[A-Z0-9]{4}-[A-Z0-9]{4}\.$"))
        expect(dialog.locator(".live")).to_have_text(ref.inner_text())
        assert errors == []
    assert calls and all(re.search(r"[?&]lang=de(&|$)", url) for url in calls), calls
    assert {re.sub(r"\?.*", "", url.split("/help")[1]) for url in calls} >= {
        "/api/widget/strings", "/api/contextual", "/api/search", "/api/articles/refunds", "/api/contact", "/api/requests"}


def test_contact_api_speaks_the_widgets_language(rules_client: TestClient) -> None:
    """``?lang=de`` (what the widget sends): German topics and field messages; without it, English."""
    try:
        topics = rules_client.get("/help/api/contact", params={"lang": "de"}).json()["topics"]
        assert {"value": "other", "label": "Etwas anderes"} in topics
        bad = {"kind": "contact", "topic": "other", "email": "", "subject": "Erstattung", "message": "Wo bleibt mein Geld?"}
        de = rules_client.post("/help/api/requests", params={"lang": "de"}, json=bad)
        rules_client.cookies.clear()
        en = rules_client.post("/help/api/requests", json=bad)
        assert de.status_code == en.status_code == 422
        assert "E-Mail-Adresse" in de.json()["errors"]["email"] and "email" in en.json()["errors"]["email"].lower()
        assert de.json()["errors"]["email"] != en.json()["errors"]["email"]
    finally:
        rules_client.cookies.clear()
