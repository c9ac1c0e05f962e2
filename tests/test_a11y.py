"""Accessibility of every page type in real Chromium: axe-core (the engine Lighthouse uses)
reports no serious or critical violation, in light and dark colour schemes, on a phone-sized
and a desktop-sized viewport; the skip link and focus outlines work from the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from selfservice import Portal, Settings, create_portal
from tests.live import axe_failures, serve_at


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Portal]]:
    portal = create_portal(Settings(demo=True, data_dir=tmp_path_factory.mktemp("a11y")))
    with serve_at(Starlette(routes=[Mount("/help", app=portal)])) as origin:
        yield f"{origin}/help", portal


def _pages(portal: Portal) -> dict[str, str]:
    lib = portal.ss.library
    category = lib.sorted_categories()[0]
    article = max(lib.articles.values(), key=lambda a: len(a.body_html))  # the richest markup
    manual = next(m for v in lib.manuals.values() for m in v.values() if m.is_latest)
    old = next((m for v in lib.manuals.values() for m in v.values() if not m.is_latest), manual)
    chapter = lib.chapters[manual.chapters[1]]
    return {
        "home": "/",
        "category": f"/c/{category.slug}",
        "article": article.url_path,
        "search": "/search?q=password+reset",
        "search-empty": "/search?q=zzzzqqq",
        "manual": f"/m/{manual.key}/",
        "chapter": chapter.url_path,
        "old-version chapter": lib.chapters[old.chapters[0]].url_path,
        "print": f"/m/{manual.key}/print",
        "not found": "/a/no-such-article",
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_no_serious_axe_violations(site: tuple[str, Portal], browser: Any, scheme: str, viewport: tuple[int, int]) -> None:
    base, portal = site
    context = browser.new_context(color_scheme=scheme, viewport={"width": viewport[0], "height": viewport[1]})
    try:
        failures = axe_failures(context.new_page(), base, _pages(portal))
    finally:
        context.close()
    assert not failures, "\n".join(failures)


def test_skip_link_and_visible_focus(site: tuple[str, Portal], browser: Any) -> None:
    base, portal = site
    page = browser.new_page()
    try:
        page.goto(base + "/")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.className, document.activeElement.getAttribute('href')]")
        assert "ss-skip" in focused[0] and focused[1] == "#main"
        box = page.evaluate("() => { const r = document.activeElement.getBoundingClientRect(); return [r.width, r.height, r.top] }")
        assert box[0] > 0 and box[1] > 0 and box[2] >= 0, "the skip link must be visible when focused"
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"
    finally:
        page.close()
