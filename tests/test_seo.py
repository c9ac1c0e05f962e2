"""Discovery: sitemap, robots.txt, Atom feed, OpenSearch and JSON-LD on article pages."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from starlette.testclient import TestClient

from selfservice import Portal
from selfservice.content import Article
from selfservice.views.seo import article_jsonld

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_sitemap_lists_home_categories_articles_and_latest_manual(client: TestClient, demo_portal: Portal) -> None:
    r = client.get("/help/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    locs = [e.text for e in ET.fromstring(r.content).iter(f"{SM}loc")]
    lib = demo_portal.ss.library
    assert "http://testserver/help/" in locs
    assert {f"http://testserver/help{a.url_path}" for a in lib.articles.values()} <= set(locs)
    assert all(f"/c/{c.slug}" in " ".join(locs) for c in lib.sorted_categories())
    latest = [m for v in lib.manuals.values() for m in v.values() if m.is_latest]
    old = [m for v in lib.manuals.values() for m in v.values() if not m.is_latest]
    assert latest and all(any(f"/m/{m.key}/" in loc for loc in locs) for m in latest)
    assert not any(f"/m/{m.key}/" in loc for m in old for loc in locs)
    assert len(locs) == len(set(locs))


def test_robots_points_to_the_sitemap(client: TestClient) -> None:
    r = client.get("/help/robots.txt")
    assert r.status_code == 200 and "Sitemap: http://testserver/help/sitemap.xml" in r.text
    assert "Disallow: /api/" in r.text


def test_atom_feed_is_valid_and_newest_first(client: TestClient) -> None:
    r = client.get("/help/feed.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    updated = [e.findtext(f"{ATOM}updated") for e in root.iter(f"{ATOM}entry")]
    assert updated and updated == sorted(updated, reverse=True)
    assert all(e.find(f"{ATOM}link").get("href", "").startswith("http://testserver/help/") for e in root.iter(f"{ATOM}entry"))  # type: ignore[union-attr]


def test_opensearch_description_and_head_links(client: TestClient) -> None:
    r = client.get("/help/opensearch.xml")
    assert "http://testserver/help/search?q={searchTerms}" in r.text
    home = client.get("/help/").text
    assert 'rel="search"' in home and 'href="/help/opensearch.xml"' in home
    assert 'type="application/atom+xml"' in home and 'href="/help/feed.atom"' in home


def test_article_page_embeds_article_and_breadcrumb_jsonld(client: TestClient, demo_portal: Portal) -> None:
    art = next(iter(demo_portal.ss.library.articles.values()))
    html = client.get(f"/help{art.url_path}").text
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert m is not None
    data = json.loads(m.group(1))
    types = [g["@type"] for g in data["@graph"]]
    assert types[:2] == ["Article", "BreadcrumbList"]
    assert data["@graph"][0]["headline"] == art.title
    crumbs = data["@graph"][1]["itemListElement"]
    assert crumbs[0]["item"] == "/help/" and crumbs[-1]["item"] == f"/help{art.url_path}"


def _article(body_html: str, title: str = "T") -> Article:
    return Article(slug="t", title=title, summary="s", body_html=body_html, body_text="", toc=(), category="c")


def test_faq_and_howto_detected_from_structure() -> None:
    html = (
        '<h2 id="a">Can I pay later?</h2><p>Yes, within 30 days.</p>'
        '<h2 id="b">Do you ship abroad?</h2><p>To the EU &amp; UK.</p>'
        "<ol><li>Open <strong>Settings</strong></li><li>Choose Billing</li></ol>"
    )
    data = json.loads(article_jsonld(_article(html), "https://x/a/t", [("Home", "https://x/")], "X"))
    graph = {g["@type"]: g for g in data["@graph"]}
    assert [q["name"] for q in graph["FAQPage"]["mainEntity"]] == ["Can I pay later?", "Do you ship abroad?"]
    assert graph["FAQPage"]["mainEntity"][1]["acceptedAnswer"]["text"].startswith("To the EU & UK.")
    assert [s["text"] for s in graph["HowTo"]["step"]] == ["Open Settings", "Choose Billing"]


def test_jsonld_cannot_close_the_script_element() -> None:
    text = article_jsonld(_article("<p>x</p>", title="</script><script>alert(1)</script>"), "u", [], "X")
    assert "</script" not in text and "<" not in text
    assert json.loads(text)["@graph"][0]["headline"].startswith("</script>")
