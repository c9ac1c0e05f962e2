from pathlib import Path

import pytest
from starlette.testclient import TestClient

from selfservice import Settings, create_portal, load_library
from selfservice.lint import check_content
from selfservice.manuals import version_key
from tests.conftest import SECRET


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for version, extra in (("1.x", ""), ("2.x", "\n## Scenes\nNew in 2.\n")):
        base = f"manuals/widget/{version}"
        write(root, f"{base}/manual.yml", f'id: widget\ntitle: Widget manual\nversion: "{version}"\ndescription: All about it.\n'
              "parts:\n  - title: Start\n    chapters: [intro.md, setup.md]\n  - title: Use\n    chapters: [daily.md]\n")
        write(root, f"{base}/intro.md", "---\ntitle: Introduction\n---\nWelcome. Next: [setup](setup.md#plug-in).\n")
        write(root, f"{base}/setup.md", "---\ntitle: Setup\n---\n## Plug in\nPlug it in. ![diagram](img/plug.png)\n")
        write(root, f"{base}/daily.md", f"---\ntitle: Daily use\n---\nUse it daily with quasar mode.{extra}\n")
        (root / base / "img").mkdir()
        (root / base / "img" / "plug.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
        (root / base / "secret.yml").write_text("password: hunter2\n")
    write(root, "help/see-manual.md", "---\ntitle: See the manual\n---\nRead [setup](../manuals/widget/2.x/setup.md).\n")
    return root


@pytest.fixture
def client(content: Path, tmp_path: Path) -> TestClient:
    return TestClient(create_portal(Settings(content_dirs=[content], secret_key=SECRET, data_dir=tmp_path / "d")))


def test_loads_versions_in_order_with_latest(content: Path) -> None:
    lib = load_library([content])
    assert set(lib.manuals["widget"]) == {"1.x", "2.x"}
    new, old = lib.manuals["widget"]["2.x"], lib.manuals["widget"]["1.x"]
    assert new.is_latest and not old.is_latest and old.latest_version == "2.x"
    assert new.chapters == ("widget/2.x/intro", "widget/2.x/setup", "widget/2.x/daily")
    assert [p.title for p in new.parts] == ["Start", "Use"]
    assert new.neighbours("widget/2.x/setup") == ("widget/2.x/intro", "widget/2.x/daily")
    assert "widget/2.x/setup" in lib.chapters and "setup" not in lib.articles
    assert version_key("10.x") > version_key("9.x") > version_key("2.5")


def test_chapter_page_prev_next_contents_and_links(client: TestClient) -> None:
    r = client.get("/m/widget/2.x/setup")
    assert r.status_code == 200
    assert 'href="/m/widget/2.x/intro"' in r.text and 'href="/m/widget/2.x/daily"' in r.text
    assert 'src="/m/widget/2.x/files/img/plug.png"' in r.text
    intro = client.get("/m/widget/2.x/intro")
    assert 'href="/m/widget/2.x/setup#plug-in"' in intro.text


def test_article_links_into_manual(client: TestClient) -> None:
    assert 'href="/m/widget/2.x/setup"' in client.get("/a/see-manual").text


def test_manual_home_lists_contents_and_versions(client: TestClient) -> None:
    r = client.get("/m/widget/2.x/")
    assert r.status_code == 200
    for stem in ("intro", "setup", "daily"):
        assert f'href="/m/widget/2.x/{stem}"' in r.text
    assert 'href="/m/widget/1.x/"' in r.text  # version switcher
    assert 'href="/m/widget/2.x/print"' in r.text


def test_old_version_has_banner_to_latest(client: TestClient) -> None:
    r = client.get("/m/widget/1.x/setup")
    assert r.status_code == 200 and 'href="/m/widget/2.x/setup"' in r.text
    assert "newer version" in r.text.lower()


def test_latest_alias_redirects(client: TestClient) -> None:
    r = client.get("/m/widget/latest/setup", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/m/widget/2.x/setup"
    r = client.get("/m/widget", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/m/widget/2.x/"


def test_print_view_has_every_chapter_in_order(client: TestClient) -> None:
    r = client.get("/m/widget/2.x/print")
    assert r.status_code == 200
    text = r.text
    assert text.index("Introduction") < text.index("Setup") < text.index("Daily use")
    assert "noindex" in text


@pytest.mark.parametrize(
    "path",
    [
        "/m/widget/2.x/files/secret.yml",
        "/m/widget/2.x/files/intro.md",
        "/m/widget/2.x/files/manual.yml",
        "/m/widget/2.x/files/../1.x/img/plug.png",
        "/m/widget/2.x/files/%2e%2e/%2e%2e/help/see-manual.md",
        "/m/widget/2.x/files/img/missing.png",
        "/m/widget/9.x/setup",
        "/m/nope/1.x/",
        "/m/widget/2.x/nope",
    ],
)
def test_not_found_and_traversal(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_attachment_served_with_type(client: TestClient) -> None:
    r = client.get("/m/widget/2.x/files/img/plug.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_chapters_in_search_and_scoped_search(client: TestClient) -> None:
    hits = client.get("/api/search", params={"q": "quasar"}).json()["results"]
    urls = {h["url"] for h in hits}
    assert urls == {"http://testserver/m/widget/1.x/daily", "http://testserver/m/widget/2.x/daily"}
    scoped = client.get("/search", params={"q": "quasar", "manual": "widget/1.x"})
    assert 'href="/m/widget/1.x/daily"' in scoped.text and 'href="/m/widget/2.x/daily"' not in scoped.text


def test_check_validates_manual_yml(tmp_path: Path) -> None:
    base = tmp_path / "manuals" / "x" / "1.0"
    write(base, "manual.yml", "id: x\ntitle: X\nversion: '1.0'\nchapters: [a.md, missing.md, a.md]\n")
    write(base, "a.md", "---\ntitle: A\n---\nx\n")
    write(base, "stray.md", "---\ntitle: Stray\n---\nx\n")
    out = "\n".join(str(p) for p in check_content([tmp_path]))
    assert "chapter file 'missing.md' does not exist" in out
    assert "chapter 'a.md' is listed twice" in out
    assert "stray.md is in the manual's folder but not in manual.yml" in out


def test_demo_manual_has_two_versions_and_eight_chapters(demo_dir: Path) -> None:
    lib = load_library([demo_dir])
    versions = lib.manuals["larkspur-hub"]
    assert len(versions) >= 2
    assert all(len(m.chapters) >= 8 for m in versions.values())
