"""The themes in ``themes/``: each loads by folder path, each installs as its own small package
that selfservice finds by its ``selfservice.themes`` entry point, each keeps its contrast
promise (WCAG AA; AAA for high-contrast), and axe-core in Chromium finds no serious or
critical violation under each, in light and dark.

The same folder is the theme and the package's source (its pyproject.toml maps ``theme.yml``,
``static/`` and ``templates/`` into ``selfservice_theme_<name>/``), so the installed test
checks the files a host gets are the files in the folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from selfservice import Portal, Settings, create_portal
from selfservice.markup import pygments_css
from selfservice.theming import load_theme
from tests.live import axe_failures, serve_at
from tests.test_theming import LIGHT, _failures, _resolve, _schemes, contrast

ROOT = Path(__file__).resolve().parent.parent
THEMES_DIR = ROOT / "themes"
THEMES = sorted(p.name for p in THEMES_DIR.iterdir() if (p / "theme.yml").is_file())


def _package(name: str) -> str:
    return "selfservice_theme_" + name.replace("-", "_")


def _variables(name: str) -> dict[str, str]:
    return dict(load_theme(str(THEMES_DIR / name)).variables)


# --- by path --------------------------------------------------------------------------------


def test_themes_folder_holds_harbour_high_contrast_and_minimal() -> None:
    assert {"harbour", "high-contrast", "minimal"} <= set(THEMES)


@pytest.mark.parametrize("name", THEMES)
def test_theme_loads_by_relative_and_absolute_path(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    folder = THEMES_DIR / name
    for path in (f"themes/{name}", str(folder)):
        theme = load_theme(path)
        assert theme.name == name and theme.path == folder and theme.description
        assert theme.parent is not None and theme.parent.is_default
        assert theme.static_dir == (folder / "static" if (folder / "static").is_dir() else None)
        assert theme.templates_dir == (folder / "templates" if (folder / "templates").is_dir() else None)
    colours = [k for k, v in theme.variables.items() if not k.endswith("-dark") and v.startswith("#")]
    assert colours and all(f"{k}-dark" in theme.variables for k in colours), "every colour needs a -dark twin"
    assert sorted({k.removesuffix("-dark") for k in theme.variables} - set(LIGHT)) == [], "only documented variables"


@pytest.mark.parametrize("name", THEMES)
def test_pyproject_packages_the_theme_folder_under_an_entry_point(name: str) -> None:
    folder = THEMES_DIR / name
    meta = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["build-system"]["build-backend"] == "hatchling.build"
    assert meta["project"]["name"] == f"selfservice-theme-{name}"
    assert meta["project"]["entry-points"]["selfservice.themes"] == {name: _package(name)}
    wheel = meta["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["sources"] == {"": _package(name)}
    parts = {"__init__.py", "theme.yml"} | {d for d in ("static", "templates") if (folder / d).is_dir()}
    assert set(wheel["only-include"]) == parts
    assert (folder / "README.md").is_file() and (folder / "__init__.py").is_file()


# --- docs and screenshots -----------------------------------------------------------------

SHOTS = ROOT / "docs" / "screenshots"
PAGES, SCHEMES, SIZES = ("home", "article"), ("light", "dark"), ("desktop", "phone")


@pytest.mark.parametrize("name", ["default", *THEMES])
def test_every_theme_has_a_docs_section_with_its_screenshots(name: str) -> None:
    docs = (ROOT / "docs" / "theming.md").read_text(encoding="utf-8")
    section = re.search(rf"^### {re.escape(name)}\n(.*?)(?=^#)", docs, re.M | re.S)
    assert section, f"docs/theming.md has no '### {name}' section"
    shown = re.findall(r"!\[[^\]]+\]\((screenshots/[^)]+\.png)\)", section.group(1))
    assert f"screenshots/{name}-home-light-desktop.png" in shown
    assert all((ROOT / "docs" / path).is_file() for path in shown), shown
    for page in PAGES:
        for scheme in SCHEMES:
            for size in SIZES:
                shot = SHOTS / f"{name}-{page}-{scheme}-{size}.png"
                assert shot.is_file(), f"{shot.name} is missing: run scripts/screenshots.py {name}"
                assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_screenshots_stay_small() -> None:
    total = sum(p.stat().st_size for p in SHOTS.glob("*.png"))
    assert total < 3 * 1024 * 1024, f"docs/screenshots holds {total:,} bytes"


# --- contrast -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", THEMES)
def test_text_meets_wcag_aa_in_light_and_dark(name: str) -> None:
    assert _failures(_variables(name), text=4.5, non_text=3.0) == []


def test_high_contrast_text_meets_wcag_aaa_in_light_and_dark() -> None:
    """7:1 for every text pair (WCAG 1.4.6); borders and focus rings 4.5:1, above AA's 3:1."""
    assert _failures(_variables("high-contrast"), text=7.0, non_text=4.5) == []


@pytest.mark.parametrize("name", [n for n in THEMES if n != "high-contrast"])
def test_highlighted_code_tokens_meet_wcag_aa_on_the_themes_code_background(name: str) -> None:
    light_rules, dark_rules = pygments_css().split("@media (prefers-color-scheme: dark)")
    schemes = _schemes(_variables(name))
    for scheme, rules in (("light", light_rules), ("dark", dark_rules)):
        background = _resolve(schemes[scheme], "--ss-code-bg")
        for selector, colour in re.findall(r"(\.highlight[^{]*)\{[^}]*?(?<!-)color:\s*(#[0-9A-Fa-f]{3,6})", rules):
            if selector.strip() == ".highlight .w":
                continue
            ratio = contrast(colour, background)
            assert ratio >= 4.5, f"{scheme}: {selector.strip()} {colour} on {background} is {ratio:.2f}:1"


def test_high_contrast_has_larger_type_thicker_focus_underlined_links_and_one_colour_code() -> None:
    variables = _variables("high-contrast")
    assert float(variables["--ss-font-size"].removesuffix("rem")) > float(LIGHT["--ss-font-size"].removesuffix("rem"))
    assert float(variables["--ss-text-sm"].removesuffix("rem")) >= 1.0
    assert int(variables["--ss-focus-width"].removesuffix("px")) > int(LIGHT["--ss-focus-width"].removesuffix("px"))
    css = (THEMES_DIR / "high-contrast" / "static" / "theme.css").read_text(encoding="utf-8")
    assert re.search(r"\.ss-body a:not\([^)]*\)\s*\{[^}]*text-decoration:\s*underline", css)
    # Token colours are lighter than 7:1, so code is one colour: --ss-code-fg, checked above.
    assert re.search(r"\.highlight \[class\]\s*\{\s*color:\s*inherit", css)


# --- installed as a package -----------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every theme built as a wheel and installed into one folder (not this venv)."""
    pytest.importorskip("hatchling", reason="building the theme wheels needs hatchling (in the test extra)")
    work = tmp_path_factory.mktemp("theme-wheels")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist"),
         *(str(THEMES_DIR / name) for name in THEMES)],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = sorted((work / "dist").glob("selfservice_theme_*.whl"))
    assert len(wheels) == len(THEMES)
    target = work / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), *map(str, wheels)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return target


# Run in a fresh interpreter with the target folder on sys.path: the entry point must come from
# the installed dist-info, and the files from the installed package, never from this checkout.
_CHECK = """
import json, re, sys, tempfile
from starlette.testclient import TestClient
from selfservice import Settings, create_portal
from selfservice.theming import known_themes, load_theme

out = {}
for name in sys.argv[1:]:
    theme = load_theme(name)
    portal = create_portal(Settings(demo=True, theme=name, data_dir=tempfile.mkdtemp(dir=".")))
    with TestClient(portal) as client:
        home = client.get("/")
        article = client.get("/a/reset-your-password")
        links = re.findall(r'<link rel="stylesheet" href="([^"]+)">', home.text)
        css = {link.rsplit("/", 1)[-1].split(".")[0]: client.get(link).text for link in links}
    out[name] = {
        "known": known_themes(), "name": theme.name, "path": str(theme.path),
        "variables": dict(theme.variables), "status": [home.status_code, article.status_code],
        "html": home.text, "css": css,
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a fresh interpreter that has the installed packages finds and serves, per theme."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(installed), os.environ.get("PYTHONPATH")]))}
    cwd = tmp_path_factory.mktemp("elsewhere")  # no themes/ folder here to find by path
    run = subprocess.run([sys.executable, "-c", _CHECK, *THEMES], capture_output=True, text=True, cwd=cwd, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    result: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("name", THEMES)
def test_installed_theme_is_found_by_entry_point_and_served(name: str, installed: Path, served: dict[str, Any]) -> None:
    out = served[name]
    package = installed / _package(name)
    assert set(THEMES) | {"default"} <= set(out["known"])
    assert out["name"] == name and Path(out["path"]) == package.resolve()
    assert (package / "theme.yml").read_bytes() == (THEMES_DIR / name / "theme.yml").read_bytes()
    assert out["status"] == [200, 200]
    assert out["variables"] == _variables(name)
    light, _, dark = out["css"]["theme-vars"].partition("@media (prefers-color-scheme:dark)")
    for key, value in out["variables"].items():
        if key.endswith("-dark"):
            assert f"{key.removesuffix('-dark')}:{value};" in dark, key
        else:
            assert f"{key}:{value};" in light, key
    if (THEMES_DIR / name / "static" / "theme.css").is_file():
        assert out["css"]["theme"] == (THEMES_DIR / name / "static" / "theme.css").read_text(encoding="utf-8")
    else:
        assert "theme" not in out["css"]
    for part in ("static", "templates"):  # every file of the folder, in the package
        files = sorted(f.relative_to(THEMES_DIR / name).as_posix() for f in (THEMES_DIR / name / part).rglob("*") if f.is_file())
        assert files == sorted(f.relative_to(package).as_posix() for f in (package / part).rglob("*") if f.is_file())
    if name == "harbour":  # its templates/base.html overrides the footer block
        assert 'class="harbour-footer__note"' in out["html"]


# --- in Chromium ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Portal]]]:
    """Every theme's demo portal, by folder path, mounted at /<theme> in one host app."""
    portals = {
        name: create_portal(Settings(demo=True, theme=str(THEMES_DIR / name), data_dir=tmp_path_factory.mktemp(name)))
        for name in THEMES
    }
    with serve_at(Starlette(routes=[Mount(f"/{name}", app=p) for name, p in portals.items()])) as origin:
        yield origin, portals


def _pages(portal: Portal) -> dict[str, str]:
    articles = portal.ss.library.articles
    article = articles.get("reset-your-password") or max(articles.values(), key=lambda a: len(a.body_html))
    return {"home": "/", "article": article.url_path, "search": "/search?q=password+reset"}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", THEMES)
def test_no_serious_axe_violations(site: tuple[str, dict[str, Portal]], browser: Any, name: str, scheme: str) -> None:
    base, portals = site
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    try:
        failures = axe_failures(context.new_page(), f"{base}/{name}", _pages(portals[name]))
    finally:
        context.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_high_contrast_in_the_browser(site: tuple[str, dict[str, Portal]], browser: Any, scheme: str) -> None:
    """Computed styles, not just the files: bigger text, underlined card links, a 4px ring."""
    base, portals = site
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/high-contrast/")
        style = page.evaluate(
            """() => {
                const body = getComputedStyle(document.body);
                const link = getComputedStyle(document.querySelector('.ss-card a, .ss-list__link'));
                return {size: body.fontSize, fg: body.color, bg: body.backgroundColor, underline: link.textDecorationLine};
            }"""
        )
        assert style["size"] == "18px" and style["underline"] == "underline"
        black, white = "rgb(0, 0, 0)", "rgb(255, 255, 255)"
        assert (style["fg"], style["bg"]) == ((black, white) if scheme == "light" else (white, black))
        page.keyboard.press("Tab")
        ring = page.evaluate("() => [getComputedStyle(document.activeElement).outlineStyle, getComputedStyle(document.activeElement).outlineWidth]")
        assert ring == ["solid", "4px"]
    finally:
        context.close()


@pytest.mark.parametrize("name", THEMES)
def test_nothing_is_wider_than_a_phone(site: tuple[str, dict[str, Portal]], browser: Any, name: str) -> None:
    """A theme's bigger type or wider components must not make phones scroll sideways."""
    base, portals = site
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        for page_name, path in _pages(portals[name]).items():
            page.goto(f"{base}/{name}{path}")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{page_name} ({path}) is {width}px wide on a 390px screen"
    finally:
        context.close()
