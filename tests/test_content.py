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


def bump(path: Path, text: str) -> None:
    """Rewrite ``path`` with a later mtime (no sleeping for the clock to move)."""
    import os

    st = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_restart_reads_no_body_until_one_is_asked_for(tmp_path: Path) -> None:
    content, cache = tmp_path / "content", tmp_path / "data" / "render-cache.pickle"
    for i in range(20):
        write(content, f"a/art-{i}.md", f"---\ntitle: Article {i}\n---\n## Step {i}\n\nBody number {i}, see [next](art-{i + 1}.md).\n")
    first = load_library([content], cache_file=cache)
    assert first.bodies is not None and len(first.bodies) == 20
    restarted = load_library([content], cache_file=cache)  # a new process: everything from the cache
    store = restarted.bodies
    assert store is not None and store.reads == 0
    art = restarted.articles["art-3"]
    assert art.title == "Article 3" and store.reads == 0  # listing needs no body
    assert "Body number 3" in art.body_html and f'href="{ROOT_MARKER}/a/art-4"' in art.body_html
    assert "Body number 3" in art.body_text and [h.text for h in art.toc] == ["Step 3"]
    assert art.links == (("art-4.md", 6),)
    assert store.reads == 1  # one body, read once: the LRU answers the rest
    assert art.body_key == first.articles["art-3"].body_key


def test_changed_article_is_rendered_again_after_reload_and_restart(tmp_path: Path) -> None:
    content, cache = tmp_path / "content", tmp_path / "data" / "render-cache.pickle"
    one = write(content, "a/one.md", "---\ntitle: One\n---\nOld words.\n")
    write(content, "a/two.md", "---\ntitle: Two\n---\nSame words.\n")
    first = load_library([content], cache_file=cache)
    old_key = first.articles["one"].body_key
    bump(one, "---\ntitle: One\n---\nNew words, longer.\n")
    reloaded = load_library([content], previous=first, cache_file=cache)  # watch mode
    assert reloaded.articles["two"] is first.articles["two"]
    assert "New words" in reloaded.articles["one"].body_html and reloaded.articles["one"].body_key != old_key
    assert "Old words" in first.articles["one"].body_html  # a worker not yet reloaded still reads its version
    restarted = load_library([content], cache_file=cache)
    assert "New words" in restarted.articles["one"].body_text
    bump(one, "---\ntitle: One\n---\nThird version.\n")  # changed while the portal was stopped
    assert load_library([content], cache_file=cache).articles["one"].body_text.strip() == "Third version."


def test_render_cache_without_its_body_store_is_not_used(tmp_path: Path) -> None:
    content, cache = tmp_path / "content", tmp_path / "data" / "render-cache.pickle"
    write(content, "a/one.md", "---\ntitle: One\n---\nWords.\n")
    load_library([content], cache_file=cache)
    for f in cache.parent.glob("render-cache-bodies.sqlite3*"):
        f.unlink()
    lib = load_library([content], cache_file=cache)
    assert lib.articles["one"].body_text.strip() == "Words."


def test_a_data_folder_that_cannot_hold_the_body_store_keeps_bodies_in_memory(tmp_path: Path) -> None:
    content = tmp_path / "content"
    write(content, "a/one.md", "---\ntitle: One\n---\nWords.\n")
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    lib = load_library([content], cache_file=blocker / "render-cache.pickle")
    assert lib.bodies is None and lib.articles["one"].body_text.strip() == "Words."
