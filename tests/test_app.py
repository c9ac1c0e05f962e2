import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from selfservice import Portal, Settings, SettingsError, create_portal
from tests.conftest import SECRET


def _first_article(portal: Portal) -> str:
    return sorted(portal.ss.library.articles)[0]


def test_home_lists_categories_with_mount_prefix(client: TestClient, demo_portal: Portal) -> None:
    r = client.get("/help/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    for cat in demo_portal.ss.library.sorted_categories():
        assert f'href="/help/c/{cat.slug}"' in r.text
    assert 'action="/help/search"' in r.text
    css = re.findall(r'href="(/help/static/[^"]+\.css)"', r.text)
    assert css, "stylesheet linked under the mount"
    s = client.get(css[0])
    assert s.status_code == 200 and "immutable" in s.headers["cache-control"]


def test_article_page_links_toc_breadcrumbs(client: TestClient, demo_portal: Portal) -> None:
    lib = demo_portal.ss.library
    art = next(a for a in lib.articles.values() if "/__ssroot__" in a.body_html)
    r = client.get(f"/help/a/{art.slug}")
    assert r.status_code == 200
    assert "/__ssroot__" not in r.text and 'href="/help/a/' in r.text
    assert r.text.count("<h1") == 1 and art.title.replace("'", "&#39;") in r.text
    for h in art.toc:
        assert f'href="#{h.id}"' in r.text
    assert f'href="/help/c/{art.category}"' in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_article_etag_and_gzip(client: TestClient, demo_portal: Portal) -> None:
    url = f"/help/a/{_first_article(demo_portal)}"
    r = client.get(url, headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert client.get(url, headers={"if-none-match": r.headers["etag"]}).status_code == 304


def test_standalone_and_other_prefix_share_rendering(demo_portal: Portal) -> None:
    slug = next(a.slug for a in demo_portal.ss.library.articles.values() if "/__ssroot__" in a.body_html)
    with TestClient(demo_portal) as c:
        r = c.get(f"/a/{slug}")
        assert r.status_code == 200 and 'href="/a/' in r.text and "/help/" not in r.text


def test_category_page(client: TestClient, demo_portal: Portal) -> None:
    cat = demo_portal.ss.library.sorted_categories()[0]
    r = client.get(f"/help/c/{cat.slug}")
    assert r.status_code == 200
    for slug in cat.slugs:
        assert f'href="/help/a/{slug}"' in r.text


def test_not_found_is_themed_html_and_json_under_api(client: TestClient) -> None:
    r = client.get("/help/a/no-such-article")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "<form" in r.text and "no-such-article" in r.text
    assert r.headers["cache-control"] == "no-store"
    j = client.get("/help/api/articles/no-such-article")
    assert j.status_code == 404 and j.json() == {"error": "No article has that slug.", "status": 404}
    assert client.get("/help/c/nope").status_code == 404
    assert client.get("/help/no/such/page").status_code == 404


def test_method_not_allowed_page(client: TestClient) -> None:
    r = client.post("/help/")
    assert r.status_code == 405 and "text/html" in r.headers["content-type"]


def test_search_page_results_and_paging(client: TestClient) -> None:
    r = client.get("/help/search", params={"q": "password"})
    assert r.status_code == 200
    assert "<mark>" in r.text
    assert r.headers["cache-control"].startswith("private")
    empty = client.get("/help/search")
    assert empty.status_code == 200 and 'name="q"' in empty.text


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999999999999999999"])
def test_search_page_bad_page_is_400(client: TestClient, page: str) -> None:
    r = client.get("/help/search", params={"q": "order", "page": page})
    assert r.status_code == 400 and "page" in r.text


@pytest.mark.parametrize(
    "q", ["*", "title:foo body:bar", '"unclosed', "a " * 700, "(((", "-", "OR OR", "\x00", "😀" * 50, "<script>alert(1)</script>"]
)
def test_hostile_queries_never_500(client: TestClient, q: str) -> None:
    r = client.get("/help/search", params={"q": q})
    assert r.status_code in (200, 400)
    assert "<script>alert" not in r.text
    j = client.get("/help/api/search", params={"q": q})
    assert j.status_code in (200, 400)


def test_api_search_shape(client: TestClient) -> None:
    r = client.get("/help/api/search", params={"q": "delivery", "limit": 3})
    data = r.json()
    assert set(data) >= {"query", "total", "results"}
    assert 0 < len(data["results"]) <= 3 and data["total"] >= len(data["results"])
    hit = data["results"][0]
    assert set(hit) >= {"slug", "title", "url", "snippet", "score"}
    assert hit["url"] == f"http://testserver/help/a/{hit['slug']}"


@pytest.mark.parametrize("params", [{"q": "x", "limit": "0"}, {"q": "x", "limit": "51"}, {"q": "x", "limit": "ten"}, {"q": "x", "offset": "-1"}])
def test_api_search_bad_params_are_json_400(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/help/api/search", params=params)
    assert r.status_code == 400 and r.json()["status"] == 400


def test_api_articles(client: TestClient, demo_portal: Portal) -> None:
    listing = client.get("/help/api/articles").json()
    assert listing["total"] == len(demo_portal.ss.library.articles)
    slug = next(a.slug for a in demo_portal.ss.library.articles.values() if "/__ssroot__" in a.body_html)
    one = client.get(f"/help/api/articles/{slug}").json()
    assert "/__ssroot__" not in one["html"] and "http://testserver/help/a/" in one["html"]
    assert one["url"] == f"http://testserver/help/a/{slug}"


def test_openapi_is_valid_3_1(client: TestClient) -> None:
    spec = client.get("/help/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert spec["servers"] == [{"url": "http://testserver/help"}]


def test_base_url_used_for_canonical_and_api(tmp_path: Path, demo_dir: Path) -> None:
    portal = create_portal(
        Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path, base_url="https://help.example.com")
    )
    slug = sorted(portal.ss.library.articles)[0]
    with TestClient(portal) as c:
        page = c.get(f"/a/{slug}", headers={"host": "evil.example"})
        assert f'<link rel="canonical" href="https://help.example.com/a/{slug}">' in page.text
        assert "evil.example" not in page.text
        api = c.get("/api/search", params={"q": "order"}, headers={"host": "evil.example"}).json()
        assert all(h["url"].startswith("https://help.example.com/a/") for h in api["results"])


def test_settings_error_at_build(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Settings.content_dirs"):
        create_portal(content_dirs=[tmp_path / "missing"], secret_key=SECRET)


def test_reload_updates_page_and_search(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "faq").mkdir(parents=True)
    (content / "faq" / "one.md").write_text("---\ntitle: Opening hours\n---\nWe open at nine.\n", encoding="utf-8")
    portal = create_portal(Settings(content_dirs=[content], secret_key=SECRET, data_dir=tmp_path / "data"))
    with TestClient(portal) as c:
        assert c.get("/a/one").status_code == 200
        assert c.get("/api/search", params={"q": "zeppelin"}).json()["total"] == 0
        (content / "faq" / "two.md").write_text("---\ntitle: Zeppelin parking\n---\nAirships park on the roof.\n", encoding="utf-8")
        assert portal.ss.reload_content() == {"two"}
        assert c.get("/a/two").status_code == 200
        assert c.get("/api/search", params={"q": "zeppelin"}).json()["results"][0]["slug"] == "two"
        (content / "faq" / "two.md").unlink()
        assert portal.ss.reload_content() == {"two"}
        assert c.get("/a/two").status_code == 404
        assert c.get("/api/search", params={"q": "zeppelin"}).json()["total"] == 0
