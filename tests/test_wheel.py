"""The built wheel, installed (not editable) into a fresh venv, serves a complete portal:
templates, fingerprinted static files, the widget and the bundled demo articles.

Catches files that only an editable install finds. The fresh venv gets the wheel alone; its
dependencies come from this test venv through a ``.pth`` line (``.pth`` files inside that
folder are not processed, so this checkout's editable install cannot leak in).
"""

from __future__ import annotations

import re
import site
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_serve import Server

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="building the wheel needs hatchling (in the test extra)")
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(work / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("selfservice-*.whl")
    env = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    purelib = Path(
        sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)})
    )
    (purelib / "_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return env


def test_wheel_is_imported_from_the_fresh_venv(installed: Path) -> None:
    out = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import selfservice, sys; print(selfservice.__file__)"],
        capture_output=True, text=True, check=True, cwd=installed,
    ).stdout.strip()
    assert out.startswith(str(installed)) and str(ROOT / "selfservice") not in out


@pytest.fixture(scope="module")
def server(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("wheel-cwd")
    s = Server(["--data-dir", str(cwd / "data")], cwd=cwd, command=[str(installed / "bin" / "selfservice")])
    try:
        yield s
    finally:
        s.stop()


def test_installed_wheel_serves_demo_pages_static_files_and_widget(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        home = http.get("/")
        assert home.status_code == 200 and "Larkspur" in home.text
        css = re.findall(r'href="(/static/[^"]+\.css)"', home.text)
        assert css, "no stylesheet link on the home page"
        for href in css:
            r = http.get(href)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
        article = re.search(r'href="(/a/[^"]+)"', home.text)
        assert article is not None
        page = http.get(article.group(1))
        assert page.status_code == 200 and "<article" in page.text
        manual = http.get("/m/larkspur-hub", follow_redirects=True)
        assert manual.status_code == 200
        widget = http.get("/widget.js")
        assert widget.status_code == 200 and "javascript" in widget.headers["content-type"]
        found = http.get("/api/search", params={"q": "password"}).json()
        assert found["total"] > 0
