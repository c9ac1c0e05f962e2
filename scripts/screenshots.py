"""Screenshots of the demo portal under every theme, for docs/theming.md.

    .venv/bin/python scripts/screenshots.py                 # the default and every themes/* folder
    .venv/bin/python scripts/screenshots.py high-contrast   # just these themes

For each theme it serves the demo portal, ``Settings(demo=True, theme=...)``, with uvicorn on
127.0.0.1 (a free port), and headless Chromium (Playwright, Debian's ``chromium``; set
``CHROMIUM`` to use another) takes the home page and an article, in the light and dark colour
schemes, on a desktop (1280×800) and a phone (390×844) viewport. Each shot is the viewport
only, at device scale 1, with animations off, so the files stay small:
``docs/screenshots/<theme>-<page>-<scheme>-<size>.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
THEMES_DIR = ROOT / "themes"
ARTICLE = "reset-your-password"  # a demo article with steps, a note and a table of contents
SCHEMES = ("light", "dark")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--hide-scrollbars"]


def themes() -> dict[str, str]:
    """Theme name → what ``Settings.theme`` gets: ``default``, then each folder of themes/ by path."""
    found = {"default": "default"}
    for folder in sorted(THEMES_DIR.iterdir()):
        if (folder / "theme.yml").is_file():
            found[folder.name] = str(folder)
    return found


@contextlib.contextmanager
def serve(theme: str) -> Iterator[tuple[str, object]]:
    """The demo portal for ``theme`` on a free localhost port until the block ends."""
    import uvicorn

    from selfservice import Settings, create_portal

    with tempfile.TemporaryDirectory(prefix="ss-shots-") as data:
        portal = create_portal(Settings(demo=True, theme=theme, data_dir=data))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # connections queue until uvicorn accepts them
        server = uvicorn.Server(uvicorn.Config(portal, log_level="warning", lifespan="on", ws="none", http="h11"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", portal
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()


def article_path(portal: object) -> str:
    articles = portal.ss.library.articles  # type: ignore[attr-defined]
    article = articles.get(ARTICLE) or next(iter(articles.values()))
    return str(article.url_path)


def shoot(names: list[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    OUT.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    available = themes()
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(f"unknown theme(s) {', '.join(unknown)}; there are {', '.join(available)}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            for name in names or list(available):
                with serve(available[name]) as (base, portal):
                    pages = {"home": "/", "article": article_path(portal)}
                    for scheme in SCHEMES:
                        for size, (width, height) in SIZES.items():
                            context = browser.new_context(
                                color_scheme=scheme, viewport={"width": width, "height": height}, device_scale_factor=1,
                                reduced_motion="reduce",
                            )
                            page = context.new_page()
                            for page_name, path in pages.items():
                                page.goto(base + path, wait_until="networkidle")
                                target = OUT / f"{name}-{page_name}-{scheme}-{size}.png"
                                page.screenshot(path=str(target), animations="disabled", caret="hide")
                                written.append(target)
                                print(f"{target.relative_to(ROOT)}  {target.stat().st_size / 1024:.0f} KiB")
                            context.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("themes", nargs="*", help="theme names (default: all)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the checkout's selfservice when run from a plain clone
    written = shoot(args.themes)
    total = sum(path.stat().st_size for path in OUT.glob("*.png"))
    print(f"{len(written)} screenshots; docs/screenshots/ holds {total / 1024 / 1024:.2f} MiB of PNG", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
