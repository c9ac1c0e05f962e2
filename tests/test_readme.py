"""README and code agree: its examples run and its two commands are the ones CI uses."""

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(marker: str) -> str:
    m = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)```\s*<!-- /{marker} -->", README, re.S)
    assert m, f"README has no {marker} block"
    return m.group(1).strip()


def test_mount_example_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code = block("mount-example")
    assert len(code.splitlines()) <= 12
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(code.replace('site_name="Larkspur Help",', f'site_name="Larkspur Help", data_dir={str(tmp_path)!r},'), "README", "exec"), namespace)
    with TestClient(namespace["app"]) as c:  # type: ignore[arg-type]
        assert c.get("/help/").status_code == 200


def test_two_commands_present() -> None:
    demo = block("demo-command")
    assert "selfservice serve" in demo and "pip install ." in demo and "-e" not in demo.split()
    test = block("test-command")
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci  # CI extracts and runs exactly this block


def test_every_settings_field_is_documented() -> None:
    from selfservice import Settings

    docs = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.field_names() if f"`{name}`" not in docs]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    from selfservice.cli import _parser

    sub = next(a for a in _parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"`selfservice {name}" in README, name


def test_relative_links_in_readme_and_docs_point_at_files() -> None:
    broken = []
    for page in [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]:
        prose = re.sub(r"```.*?```|`[^`\n]*`", "", page.read_text(encoding="utf-8"), flags=re.S)  # examples, not links
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
