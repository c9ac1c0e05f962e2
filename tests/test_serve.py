"""`selfservice serve` over real HTTP (uvicorn), including writers' --reload mode."""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `selfservice serve` subprocess whose log lines can be awaited (no sleeps)."""

    def __init__(self, args: list[str], cwd: Path, command: list[str] | None = None) -> None:
        self.port = free_port()
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []  # every line, including those wait_for consumed
        self.proc = subprocess.Popen(
            [*(command or [sys.executable, "-m", "selfservice.cli"]), "serve", "--port", str(self.port), *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_for("Uvicorn running on")
        self.url = f"http://127.0.0.1:{self.port}"

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = READY_TIMEOUT) -> str:
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"server never logged {text!r}; got: {''.join(seen)[-2000:]}") from None
            seen.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    (root / "faq").mkdir(parents=True)
    (root / "faq" / "opening-hours.md").write_text("---\ntitle: Opening hours\n---\nWe open at nine.\n", encoding="utf-8")
    return root


@pytest.fixture
def server(content: Path, tmp_path: Path) -> Iterator[Server]:
    s = Server(["--content", str(content), "--reload", "--data-dir", str(tmp_path / "data")], cwd=tmp_path)
    try:
        yield s
    finally:
        s.stop()


def test_serves_pages_over_http(server: Server) -> None:
    with httpx.Client(base_url=server.url) as c:
        home = c.get("/")
        assert home.status_code == 200 and "Opening hours" in home.text
        assert c.get("/a/opening-hours").status_code == 200
        assert c.get("/api/search", params={"q": "nine"}).json()["results"][0]["slug"] == "opening-hours"


def test_reload_picks_up_a_saved_file(server: Server, content: Path) -> None:
    (content / "faq" / "parking.md").write_text("---\ntitle: Parking\n---\nPark behind the zeppelin hangar.\n", encoding="utf-8")
    server.wait_for("reloaded 1 article(s): parking", timeout=5)
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/a/parking").status_code == 200
        assert c.get("/api/search", params={"q": "zeppelin"}).json()["results"][0]["slug"] == "parking"


def test_serve_refuses_production_without_secret(content: Path, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "selfservice.cli", "serve", "--content", str(content), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in __import__("os").environ.items() if k != "SELFSERVICE_SECRET_KEY"},
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("selfservice: error:")
    assert "SELFSERVICE_SECRET_KEY" in r.stderr
