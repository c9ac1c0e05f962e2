import subprocess
import sys
from pathlib import Path

import pytest

from selfservice import load_library
from selfservice.cli import main


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def test_check_reports_file_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a/one.md", "---\ntitle: One\n---\n\n[x](gone.md)\n")
    write(tmp_path, "a/bad.md", "---\ntitle: [\n---\n")
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert f"{tmp_path / 'a' / 'one.md'}:5: error: broken link 'gone.md'" in out.out
    assert f"{tmp_path / 'a' / 'bad.md'}:" in out.out
    assert "2 error(s)" in out.err


def test_check_demo_content_is_clean(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(demo_dir)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().err


def test_check_missing_folder_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", str(tmp_path / "nope")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("selfservice: error:") and err.count("\n") == 1


def test_new_scaffolds_a_draft_that_checks_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", "How do I pay by bank transfer?", "--category", "Billing", "--content", str(tmp_path)]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == tmp_path / "billing" / "how-do-i-pay-by-bank-transfer.md"
    lib = load_library([tmp_path])
    assert "how-do-i-pay-by-bank-transfer" in lib.drafts
    assert main(["check", str(tmp_path)]) == 0
    with pytest.raises(SystemExit) as info:  # never overwrite a writer's file
        main(["new", "How do I pay by bank transfer?", "--category", "Billing", "--content", str(tmp_path)])
    assert info.value.code == 2


def test_index_builds_with_progress(tmp_path: Path, demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(demo_dir), "--index-dir", str(tmp_path / "ix")]) == 0
    assert "indexed" in capsys.readouterr().err
    from selfservice.search import SearchIndex

    ix = SearchIndex(tmp_path / "ix")
    try:
        assert ix.search("password").total > 0
    finally:
        ix.close()


def test_templates_shows_winners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    write(tmp_path, "article.html", '{% extends "default:article.html" %}')
    assert main(["templates", "--templates", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if " article.html " in line)
    assert str(tmp_path / "article.html") in row  # the host file wins ...
    assert "templates/article.html" in row  # ... and shadows the default


def test_console_script_usage_error_is_exit_2() -> None:
    r = subprocess.run([sys.executable, "-m", "selfservice.cli", "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr
