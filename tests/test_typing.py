"""The package type-checks cleanly (it ships ``py.typed``, so hosts' checkers read our hints)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_py_typed_is_shipped() -> None:
    assert (ROOT / "selfservice" / "py.typed").is_file()


def test_mypy_is_clean(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="type checking needs mypy (in the test extra)")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", "selfservice"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
