from pathlib import Path

from selfservice.lint import check_content


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def test_broken_links_anchors_and_related(tmp_path: Path) -> None:
    write(tmp_path, "a/one.md", "---\ntitle: One\nrelated: [nope]\n---\nIntro\n\n[gone](missing.md)\n\n[bad anchor](two.md#nowhere)\n\n[ok](two.md#fees) [self](#intro)\n")
    write(tmp_path, "a/two.md", "---\ntitle: Two\n---\n## Fees\n")
    out = [str(p) for p in check_content([tmp_path])]
    one = str(tmp_path / "a" / "one.md")
    assert f"{one}:7: error: broken link 'missing.md': a file that does not exist" in out
    assert f"{one}:9: error: broken link 'two.md#nowhere': no heading #nowhere there" in out
    assert any("related` names 'nope'" in line for line in out)
    assert any("#intro" in line for line in out)  # no heading called intro
    assert not any("#fees" in line for line in out)


def test_clean_folder_has_no_problems(tmp_path: Path) -> None:
    write(tmp_path, "a/one.md", "---\ntitle: One\n---\n## Part\n[two](two.md) [part](#part)\n")
    write(tmp_path, "a/two.md", "---\ntitle: Two\n---\nx\n")
    assert check_content([tmp_path]) == []
