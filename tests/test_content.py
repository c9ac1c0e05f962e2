from pathlib import Path

import pytest

from selfservice import load_library
from selfservice.content import ROOT_MARKER, parse_front_matter
from selfservice.errors import FrontMatterError
from selfservice.settings import demo_content_dir


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_front_matter_split_and_body_line(tmp_path: Path) -> None:
    meta, body, line = parse_front_matter("---\ntitle: Hi\ntags: [a]\n---\nBody\n", tmp_path / "x.md")
    assert meta == {"title": "Hi", "tags": ["a"]}
    assert body == "Body\n" and line == 5


def test_front_matter_errors_give_line(tmp_path: Path) -> None:
    with pytest.raises(FrontMatterError) as info:
        parse_front_matter("---\ntitle: Hi\ntags: [a\n---\nBody\n", tmp_path / "x.md")
    assert info.value.line >= 3
    with pytest.raises(FrontMatterError, match="no closing"):
        parse_front_matter("---\ntitle: Hi\n", tmp_path / "x.md")
    with pytest.raises(FrontMatterError, match="mapping"):
        parse_front_matter("---\n- a\n- b\n---\n", tmp_path / "x.md")


def test_defaults_from_file_and_folder(tmp_path: Path) -> None:
    write(tmp_path, "billing/_category.yml", "name: Billing and payments\ndescription: Money.\norder: 2\n")
    write(tmp_path, "billing/Pay-Online.md", "---\ntitle: Pay online\nsummary: How.\ntags: [pay]\nupdated: 2026-01-02\n---\nText.\n")
    write(tmp_path, "top.md", "# From heading\n\nNo front matter at all.\n")
    lib = load_library([tmp_path])
    art = lib.articles["pay-online"]
    assert art.category == "billing" and art.title == "Pay online" and art.tags == ("pay",)
    assert str(art.updated) == "2026-01-02"
    cat = lib.categories["billing"]
    assert (cat.name, cat.description, cat.order, cat.slugs) == ("Billing and payments", "Money.", 2, ["pay-online"])
    top = lib.articles["top"]
    assert top.title == "From heading" and top.category == "general"
    assert "From heading" not in top.body_html


def test_bad_files_are_reported_not_fatal(tmp_path: Path) -> None:
    write(tmp_path, "a/good.md", "---\ntitle: Good\n---\nok\n")
    write(tmp_path, "a/broken.md", "---\ntitle: [unclosed\n---\nx\n")
    write(tmp_path, "a/dup.md", "---\ntitle: One\nslug: good\n---\nx\n")
    write(tmp_path, "a/odd.md", "---\ntitle: Odd\ncolour: blue\nupdated: yesterday\n---\nx\n")
    (tmp_path / "a" / "binary.md").write_bytes(b"\xff\xfe\x00bad")
    lib = load_library([tmp_path])
    assert set(lib.articles) == {"good", "odd"}
    text = "\n".join(str(p) for p in lib.problems)
    assert "broken.md:2" in text and "not valid YAML" in text
    assert "duplicate slug 'good'" in text
    assert "unknown front matter key 'colour'" in text and "warning" in text
    assert "not a date" in text
    assert "not UTF-8" in text


def test_drafts_hidden_and_internal_links_rewritten(tmp_path: Path) -> None:
    write(tmp_path, "a/one.md", "---\ntitle: One\n---\nSee [two](../b/two.md#fees) and [ext](https://example.com).\n")
    write(tmp_path, "b/two.md", "---\ntitle: Two\n---\n## Fees\nx\n")
    write(tmp_path, "b/wip.md", "---\ntitle: WIP\ndraft: true\n---\nx\n")
    lib = load_library([tmp_path])
    assert "wip" not in lib.articles and "wip" in lib.drafts
    assert f'href="{ROOT_MARKER}/a/two#fees"' in lib.articles["one"].body_html


def test_reload_reuses_unchanged_articles(tmp_path: Path) -> None:
    a = write(tmp_path, "a/one.md", "---\ntitle: One\n---\nx\n")
    write(tmp_path, "a/two.md", "---\ntitle: Two\n---\ny\n")
    first = load_library([tmp_path])
    a.write_text("---\ntitle: One again\n---\nchanged\n", encoding="utf-8")
    import os

    st = a.stat()
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    second = load_library([tmp_path], previous=first)
    assert second.articles["two"] is first.articles["two"]
    assert second.articles["one"].title == "One again"


def test_related_and_recent(tmp_path: Path) -> None:
    write(tmp_path, "a/x.md", "---\ntitle: X\ntags: [t1, t2]\nrelated: [z]\nupdated: 2026-01-01\n---\nx\n")
    write(tmp_path, "a/y.md", "---\ntitle: Y\ntags: [t1, t2]\nupdated: 2026-03-01\n---\ny\n")
    write(tmp_path, "a/z.md", "---\ntitle: Z\nupdated: 2026-02-01\n---\nz\n")
    write(tmp_path, "a/w.md", "---\ntitle: W\ntags: [t2]\n---\nw\n")
    lib = load_library([tmp_path])
    assert [a.slug for a in lib.related(lib.articles["x"])] == ["z", "y", "w"]
    assert [a.slug for a in lib.recent(2)] == ["y", "z"]


def test_bundled_demo_content_is_clean() -> None:
    from selfservice.lint import check_content

    problems = check_content([demo_content_dir()])
    assert [str(p) for p in problems] == []
    lib = load_library([demo_content_dir()])
    assert len(lib.articles) >= 25
    assert len(lib.sorted_categories()) >= 6
