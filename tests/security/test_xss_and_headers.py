"""Cross-site scripting through every way text reaches a page, and the headers that limit
the damage if something slipped through. Each test is one attack with its expected outcome."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from selfservice import Settings, create_portal
from tests.conftest import SECRET

PAYLOAD = "<script>alert(1)</script>"

EVIL_ARTICLE = """---
title: "Evil <img src=x onerror=alert(1)>"
summary: "<script>alert('summary')</script>"
tags: ["<b>x</b>"]
---

Raw <script>alert('raw')</script> and <img src=x onerror="alert(2)"> and <iframe src="https://evil"></iframe>.

[js link](javascript:alert(3)) [data link](data:text/html,<script>alert(4)</script>)
[vb](vbscript:msgbox) [ok](https://example.com "t\\" onmouseover=\\"alert(5)")

![img](javascript:alert(6))

<a href="javascript:alert(7)">html link</a>

## Heading <span onclick=alert(8)>x</span>
"""


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    content = tmp_path_factory.mktemp("evil-content")
    (content / "faq").mkdir()
    (content / "faq" / "evil.md").write_text(EVIL_ARTICLE, encoding="utf-8")
    portal = create_portal(Settings(content_dirs=[content], secret_key=SECRET, data_dir=tmp_path_factory.mktemp("evil-data")))
    with TestClient(Starlette(routes=[Mount("/help", app=portal)])) as c:
        yield c


class _ActiveContent(HTMLParser):
    """Collects what a browser would run: script elements, event handler attributes,
    script-scheme URLs and frames. Escaped text (``&lt;script&gt;``) is only text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kinds = dict(attrs)
        if tag == "script" and kinds.get("type") != "application/ld+json" and not kinds.get("src"):
            self.found.append("inline <script>")
        if tag in ("iframe", "object", "embed", "frame"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "formaction", "xlink:href") and value:
                scheme = value.strip().lower().replace("\t", "").replace("\n", "")
                if scheme.startswith(("javascript:", "vbscript:", "data:text")):
                    self.found.append(f"{tag} {name}={value[:30]}")


def _no_active_content(html: str) -> None:
    parser = _ActiveContent()
    parser.feed(html)
    assert not parser.found, parser.found


def test_markdown_raw_html_and_dangerous_links_are_neutralised(evil: TestClient) -> None:
    r = evil.get("/help/a/evil")
    assert r.status_code == 200
    body = r.text.split('<div class="ss-article__body', 1)[1]
    _no_active_content(body)
    assert "&lt;script&gt;" in body  # shown as text, not run


def test_front_matter_is_escaped_everywhere_it_appears(evil: TestClient) -> None:
    for path in ("/help/a/evil", "/help/c/faq", "/help/", "/help/search?q=evil"):
        html = evil.get(path).text
        assert "<img src=x onerror" not in html and "<script>alert('summary')" not in html, path
        assert "<b>x</b>" not in html, path


def test_api_returns_sanitised_html_and_json_types(evil: TestClient) -> None:
    r = evil.get("/help/api/articles/evil")
    assert r.headers["content-type"].startswith("application/json")
    _no_active_content(r.json()["html"])


@pytest.mark.parametrize(
    "q",
    [PAYLOAD, '"><svg onload=alert(1)>', "' onfocus='alert(1)", "</title><script>alert(1)</script>", "javascript:alert(1)"],
)
def test_search_terms_are_reflected_escaped(client: TestClient, q: str) -> None:
    r = client.get("/help/search", params={"q": q})
    assert r.status_code == 200
    _no_active_content(r.text)
    api = client.get("/help/api/search", params={"q": q})
    assert api.headers["content-type"].startswith("application/json")


def test_error_pages_do_not_reflect_markup(client: TestClient) -> None:
    r = client.get("/help/a/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert r.status_code == 404
    _no_active_content(r.text)
    r = client.get("/help/c/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert r.status_code == 404
    _no_active_content(r.text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text  # shown, escaped


def test_every_template_autoescapes(demo_portal: object) -> None:
    env = demo_portal.ss.env  # type: ignore[attr-defined]
    for name in env.list_templates(filter_func=lambda n: n.endswith(".html") and ":" not in n):
        template = env.get_template(name)
        assert env.autoescape is True or env.autoescape(name), name
        assert template is not None


@pytest.mark.parametrize("path", ["/help/", "/help/a/reset-your-password", "/help/search?q=x", "/help/nope", "/help/api/search?q=x"])
def test_security_headers_on_every_kind_of_response(client: TestClient, path: str) -> None:
    h = client.get(path).headers
    csp = h["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "object-src 'none'" in csp
    assert "frame-ancestors" in csp and "base-uri 'self'" in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"


def test_no_inline_script_or_style_in_any_page(client: TestClient) -> None:
    import re

    for path in ("/help/", "/help/a/reset-your-password", "/help/search?q=password", "/help/m/larkspur-hub/latest/installation"):
        html = client.get(path, follow_redirects=True).text
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/ld\+json)[^>]*>", html)
        assert not scripts, f"inline script on {path}: {scripts}"
        assert " style=" not in html and "<style" not in html, path


def test_cors_never_echoes_an_unknown_origin(client: TestClient) -> None:
    for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
        r = client.get("/help/api/search", params={"q": "x"}, headers={"origin": origin})
        assert r.headers.get("access-control-allow-origin") in (None, "*") or False
        assert "access-control-allow-credentials" not in r.headers
        pre = client.options(
            "/help/api/search", headers={"origin": origin, "access-control-request-method": "POST"}
        )
        assert pre.headers.get("access-control-allow-origin") != origin


def test_mount_uses_configured_base_url_not_the_host_header(tmp_path: Path) -> None:
    from selfservice.settings import demo_content_dir

    portal = create_portal(
        Settings(content_dirs=[demo_content_dir()], secret_key=SECRET, data_dir=tmp_path, base_url="https://help.example.com")
    )
    with TestClient(portal) as c:
        r = c.get("/a/reset-your-password", headers={"host": "evil.example"})
        assert "evil.example" not in r.text
        assert 'rel="canonical" href="https://help.example.com/a/reset-your-password"' in r.text
        assert "evil.example" not in c.get("/sitemap.xml", headers={"host": "evil.example"}).text
