"""Lighthouse scores (performance, accessibility, best practices, SEO) of portal pages in
Debian's Chromium, served by uvicorn over the bundled demo articles.

Installs Lighthouse from the npm registry into ``build/lighthouse`` on first use (needs
Node.js and npm), starts ``selfservice serve`` on a free localhost port and audits the home
page, an article page, a manual chapter and a search page with the mobile (default) and the
desktop preset. The target is ≥ 98 in every category on the article page.

    python benchmarks/lighthouse.py [--preset mobile|desktop|both] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LH_DIR = ROOT / "build" / "lighthouse"
LH_BIN = LH_DIR / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking --disable-component-update --disable-sync"


def ensure_lighthouse() -> Path:
    if not LH_BIN.exists():
        if not shutil.which("npm"):
            sys.exit("lighthouse.py: npm is needed to install Lighthouse (apt-get install npm)")
        LH_DIR.mkdir(parents=True, exist_ok=True)
        print("installing lighthouse into build/lighthouse ...", file=sys.stderr)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "lighthouse@13"], cwd=LH_DIR, check=True)
    return LH_BIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"lighthouse.py: the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("lighthouse.py: the server did not start")


def audit(lh: Path, url: str, preset: str, chrome: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        cmd = [
            str(lh), url, "--quiet", "--output=json", f"--output-path={out}",
            f"--only-categories={','.join(CATEGORIES)}", f"--chrome-path={chrome}", f"--chrome-flags={CHROME_FLAGS}",
        ]
        if preset == "desktop":
            cmd.append("--preset=desktop")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = json.loads(out.read_text())
    return {c: round((report["categories"][c]["score"] or 0) * 100) for c in CATEGORIES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=("mobile", "desktop", "both"), default="both")
    ap.add_argument("--runs", type=int, default=1, help="audits per page; the median score is reported")
    args = ap.parse_args()
    chrome = shutil.which("chromium") or sys.exit("lighthouse.py: Chromium is needed (apt-get install chromium)")
    lh = ensure_lighthouse()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [sys.executable, "-m", "selfservice.cli", "serve", "--port", str(port), "--data-dir", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/", server)
            pages = {
                "home": "/",
                "article": "/a/reset-your-password",
                "chapter": "/m/larkspur-hub/latest/installation",
                "search": "/search?q=reset+password",
            }
            presets = ("mobile", "desktop") if args.preset == "both" else (args.preset,)
            print(f"{'page':10} {'preset':8} " + " ".join(f"{c:>15}" for c in CATEGORIES))
            for name, path in pages.items():
                with urllib.request.urlopen(base + path) as r:  # follow redirects (latest → 3.x)
                    url = r.geturl()
                for preset in presets:
                    runs = [audit(lh, url, preset, chrome) for _ in range(args.runs)]
                    scores = {c: sorted(r[c] for r in runs)[len(runs) // 2] for c in CATEGORIES}
                    print(f"{name:10} {preset:8} " + " ".join(f"{scores[c]:>15}" for c in CATEGORIES), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
