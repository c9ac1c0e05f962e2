"""The manual's print view in a real Chromium: print CSS applies and "Save as PDF" works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from selfservice import Settings, create_portal
from tests.live import serve_at

MANUAL = "larkspur-hub"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    portal = create_portal(Settings(demo=True, data_dir=tmp_path_factory.mktemp("print")))
    with serve_at(Starlette(routes=[Mount("/help", app=portal)])) as origin:
        yield origin, portal


@pytest.fixture(scope="module")
def page(site: tuple[str, Any], browser: Any) -> Iterator[Any]:
    p = browser.new_page()
    p.emulate_media(media="print")
    yield p


def test_print_css_hides_chrome_and_breaks_pages_per_chapter(site: tuple[str, Any], page: Any) -> None:
    origin, _ = site
    r = page.goto(f"{origin}/help/m/{MANUAL}/latest/print")
    assert r is not None and r.ok
    for selector in (".ss-header", ".ss-footer"):
        assert page.eval_on_selector(selector, "e => getComputedStyle(e).display") == "none"
    breaks = page.eval_on_selector_all(
        ".ss-print__chapter", "els => els.map(e => getComputedStyle(e).breakBefore)"
    )
    assert len(breaks) >= 8 and all(b == "page" for b in breaks)
    # External links show their address on paper.
    after = page.evaluate(
        """() => { const a = document.querySelector('.ss-print a[href^="http"]');
                   return a ? getComputedStyle(a, '::after').content : null }"""
    )
    assert after is None or "attr(href)" in after or "http" in after


def test_save_as_pdf_has_a_page_per_chapter(site: tuple[str, Any], page: Any, tmp_path: Path) -> None:
    origin, _ = site
    page.goto(f"{origin}/help/m/{MANUAL}/latest/print")
    chapters = page.eval_on_selector_all(".ss-print__chapter", "els => els.length")
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= chapters + 1  # title + contents, then each chapter starts a new page
    (tmp_path / "manual.pdf").write_bytes(pdf)
