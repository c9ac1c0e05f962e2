import re
import time
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import helpers as stock_helpers
from markdown_it.token import Token

from selfservice import markup
from selfservice.errors import ContentError
from selfservice.markup import MAX_SOURCE_CHARS, Heading, pygments_css, render

ALLOWED_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
                "pre", "code", "span", "em", "strong", "s", "a", "img", "table", "thead", "tbody",
                "tr", "th", "td", "div", "section", "sup", "input", "dl", "dt", "dd"}


class Elements(HTMLParser):
    """Every start tag of an HTML fragment with its attributes, as a browser would read them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def of(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.found if t == tag]


def assert_safe(html: str) -> None:
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on") and name != "style", (tag, name)
            if name in ("href", "src"):
                squeezed = re.sub(r"[\x00-\x20\x7f]", "", value).lower()
                assert not squeezed.startswith(("javascript:", "vbscript:", "data:")), value
    assert "<script" not in html.lower()


# --- XSS and the link policy ----------------------------------------------------------------


def test_raw_html_is_text_not_markup() -> None:
    r = render('<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)> <b onclick="x">b</b>\n')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.html
    assert Elements(r.html).of("img") == [] and Elements(r.html).of("b") == []
    assert_safe(r.html)


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](&#x6A;avascript:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](&#9;javascript:alert(1))",
        "[x](<java\tscript:alert(1)>)",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](file:///etc/passwd)",
        "[x][r]\n\n[r]: javascript:alert(1)",
    ],
)
def test_dangerous_links_are_dropped_but_their_text_kept(source: str) -> None:
    r = render(source)
    assert Elements(r.html).of("a") == []
    assert r.html == "<p>x</p>\n"
    assert_safe(r.html)


def test_dangerous_images_become_their_alt_text() -> None:
    r = render("![the *alt*](data:text/html,<script>alert(1)</script>) ![y](JAVASCRIPT:alert(1))")
    assert Elements(r.html).of("img") == []
    assert "the alt y" in r.html
    assert_safe(r.html)


def test_dangerous_autolink_stays_plain_text() -> None:
    r = render("<javascript:alert(1)> and <https://ok.example/x>")
    assert [a["href"] for a in Elements(r.html).of("a")] == ["https://ok.example/x"]
    assert "javascript:alert(1)" in r.text
    assert_safe(r.html)


def test_allowed_schemes_relative_and_fragments() -> None:
    r = render(
        "[a](https://ex.com/a?b=1&c=2) [b](http://ex.com) [c](mailto:help@ex.com) [d](tel:+15551234)\n"
        "[e](guide.md) [f](#top) [g](//cdn.ex.com/x) <help@ex.com>"
    )
    links = {a["href"]: a.get("rel") for a in Elements(r.html).of("a")}
    assert links == {
        "https://ex.com/a?b=1&c=2": "noopener noreferrer",
        "http://ex.com": "noopener noreferrer",
        "mailto:help@ex.com": None,
        "tel:+15551234": None,
        "guide.md": None,
        "#top": None,
        "//cdn.ex.com/x": "noopener noreferrer",
    }


def test_resolve_link_sees_only_relative_targets() -> None:
    seen: list[str] = []

    def resolve(target: str) -> str | None:
        seen.append(target)
        return "/kb/a/refunds#fees" if target.startswith("../billing/") else None

    r = render(
        "[a](../billing/refunds.md#fees) [b](https://x.org) [c](mailto:a@b.c) [d](#here) "
        "[e](other.md) ![f](img/pic.png) [g](<my file.md>)",
        resolve_link=resolve,
    )
    assert seen == ["../billing/refunds.md#fees", "other.md", "img/pic.png", "my file.md"]
    hrefs = [a["href"] for a in Elements(r.html).of("a")]
    assert hrefs == ["/kb/a/refunds#fees", "https://x.org", "mailto:a@b.c", "#here", "other.md", "my%20file.md"]
    assert Elements(r.html).of("img")[0]["src"] == "img/pic.png"


def test_resolver_cannot_smuggle_a_bad_scheme() -> None:
    r = render("[a](page.md)", resolve_link=lambda t: "javascript:alert(1)")
    assert r.html == "<p>a</p>\n"


def test_links_report_raw_target_and_source_line() -> None:
    source = (
        "# Title\n"  # 1
        "\n"
        "First line\n"  # 3
        "second [two](a.md) and\n"  # 4
        "third ![pic](p.png) <https://x.org>\n"  # 5
        "\n"
        "| h |\n"  # 7
        "|---|\n"
        "| [cell](c.md) |\n"  # 9
        "\n"
        "> quoted\n"  # 11
        "> [q](<q file.md>)\n"  # 12
        "\n"
        "Note[^1] [ref][r]\n"  # 14
        "\n"
        "[^1]: see [fn](f.md#x)\n"  # 16
        "\n"
        "[r]: ref.md\n"
        "## [Head](h.md)\n"  # 19
    )
    assert render(source).links == (
        ("a.md", 4), ("p.png", 5), ("https://x.org", 5), ("c.md", 9), ("q file.md", 12),
        ("ref.md", 14), ("h.md", 19), ("f.md#x", 16),
    )


def test_images_are_lazy_and_keep_alt() -> None:
    img = Elements(render('![A *cat*](cat.png "Tom")').html).of("img")
    assert img == [{"src": "cat.png", "alt": "A cat", "title": "Tom", "loading": "lazy"}]


# --- structure: headings, title, toc ---------------------------------------------------------


def test_heading_ids_are_slugs_and_unique() -> None:
    r = render("## Setup\n## Setup\n## Setup-1\n### Sub `code` *em*!\n## ¿Qué tal?\n## !!!\n## fn1\n\nx[^1]\n\n[^1]: n\n")
    ids = [h["id"] for tag, h in Elements(r.html).found if tag in ("h2", "h3")]
    assert ids == ["setup", "setup-1", "setup-1-1", "sub-code-em", "qué-tal", "section", "h-fn1"]
    assert len(set(re.findall(r'id="([^"]+)"', r.html))) == len(re.findall(r'id="', r.html))


def test_toc_levels_and_leading_h1() -> None:
    r = render("# Guide\n\nIntro\n\n## One\n### One.a\n#### Deep\n##### Deeper\n# Second H1\n> ## Quoted\n")
    assert r.title == "Guide"
    assert r.toc == (Heading(2, "one", "One"), Heading(3, "onea", "One.a"), Heading(4, "deep", "Deep"))
    assert "Guide" not in r.html and "Guide" not in r.text
    assert '<h1 id="second-h1">Second H1</h1>' in r.html
    assert '<h2 id="quoted">Quoted</h2>' in r.html


def test_leading_h1_kept_on_request_and_setext_counts() -> None:
    kept = render("Guide *x*\n=====\n\nBody [l](a.md)\n", drop_leading_h1=False)
    assert kept.title == "Guide x" and "<h1" in kept.html and kept.text.startswith("Guide x")
    dropped = render("\n\n# [Guide](g.md)\n\nBody\n")
    assert dropped.title == "Guide" and "<h1" not in dropped.html and dropped.links == (("g.md", 3),)
    assert render("Intro\n\n# Later\n").title is None


# --- features -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["note", "tip", "warning", "danger", "info"])
def test_admonitions(kind: str) -> None:
    r = render(f'!!! {kind} "Mind *this*"\n    Body text.\n\nAfter.\n')
    assert r.html.startswith(f'<div class="admonition {kind}">\n<p class="admonition-title">Mind <em>this</em></p>')
    assert "<p>Body text.</p>\n</div>" in r.html
    assert r.text == "Mind this\n\nBody text.\n\nAfter."


def test_admonition_default_title_and_unknown_class() -> None:
    assert '<p class="admonition-title">Warning</p>' in render("!!! warning\n    x\n").html
    assert render("!!! evil onclick\n    x\n").html.startswith('<div class="admonition">')


def test_footnotes() -> None:
    r = render("Claim[^src].\n\n[^src]: The *source*.\n")
    assert '<sup class="footnote-ref"><a href="#fn1" id="fnref1">[1]</a></sup>' in r.html
    assert '<section class="footnotes">' in r.html and '<li id="fn1" class="footnote-item">' in r.html
    assert '<a href="#fnref1" class="footnote-backref">' in r.html
    assert r.text == "Claim.\n\nThe source."


def test_task_lists_are_disabled_checkboxes() -> None:
    r = render("- [ ] open\n- [x] done\n- [ ]\n- plain\n")
    boxes = Elements(r.html).of("input")
    assert boxes == [
        {"class": "task-list-item-checkbox", "aria-label": "Not done", "disabled": "disabled", "type": "checkbox"},
        {"class": "task-list-item-checkbox", "aria-label": "Done", "checked": "checked", "disabled": "disabled", "type": "checkbox"},
    ]
    assert '<ul class="contains-task-list">' in r.html and r.html.count('<li class="task-list-item">') == 2
    assert r.text == "open\n\ndone\n\n[ ]\n\nplain"


def test_definition_lists_and_strikethrough() -> None:
    r = render("Term\n: Meaning\n\n~~old~~ new\n")
    assert "<dl>\n<dt>Term</dt>\n<dd>Meaning</dd>\n</dl>" in r.html and "<s>old</s> new" in r.html


def test_code_is_highlighted_with_classes_only() -> None:
    r = render('```python\ndef f(x):\n    return "<b>"  # hi\n```\n')
    assert r.html.startswith('<pre class="highlight"><code><span class="k">def</span>')
    assert '<span class="s2">"&lt;b&gt;"</span>' in r.html and "style=" not in r.html
    assert r.text == 'def f(x):\n    return "<b>"  # hi'


@pytest.mark.parametrize("fence", ["```nosuchlang", "```", "~~~ {.weird}"])
def test_unknown_or_missing_language_is_escaped_plain_code(fence: str) -> None:
    r = render(f"{fence}\n<b>x</b> & y\n{fence[:3]}\n")
    assert r.html == "<pre><code>&lt;b&gt;x&lt;/b&gt; &amp; y\n</code></pre>\n"


def test_huge_code_block_is_not_highlighted() -> None:
    r = render("```python\n" + "x = 1\n" * 10_000 + "```\n")
    assert r.html.startswith("<pre><code>x = 1\n")


def test_tables_are_wrapped_and_aligned_by_class() -> None:
    r = render("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n")
    assert r.html.startswith('<div class="table-wrap" tabindex="0" role="region" aria-label="Table">\n<table>') and r.html.endswith("</table>\n</div>\n")
    assert [c.get("class") for c in Elements(r.html).of("td")] == ["align-left", "align-center", "align-right"]
    assert "style" not in r.html
    assert r.text == "a b c\n\n1 2 3"


def test_text_is_plain_with_blank_lines_between_blocks() -> None:
    r = render("# T\n\nA *b* `c`\nd  \ne\n\n- one\n- two\n\n```\ncode\n```\n\n> quote &amp; more\n")
    assert r.text == "A b c d\ne\n\none\n\ntwo\n\ncode\n\nquote & more"


def test_source_over_the_cap_is_refused() -> None:
    with pytest.raises(ContentError, match="limit"):
        render("a" * (MAX_SOURCE_CHARS + 1))


def test_pygments_css_is_scoped_and_covers_highlighted_classes() -> None:
    css = pygments_css()
    light, _, dark = css.partition("@media (prefers-color-scheme: dark) {")
    assert dark.rstrip().endswith("}")
    for line in css.splitlines():
        assert line.strip().startswith((".highlight", "@media", "}")) or not line.strip(), line
    html = render("```python\nimport os\n@dec\nclass A: x = 1.5  # c\n```\n").html
    classes = set(re.findall(r'class="([^"]+)"', html)) - {"highlight"}
    assert classes and all(f".highlight .{c} " in light and f".highlight .{c} " in dark for c in classes - {"w", "p", "n"})


# --- bounded work on hostile input ----------------------------------------------------------

PATHOLOGICAL: dict[str, Callable[[], str]] = {
    "unclosed link openers": lambda: "[a" * 65000,
    "quote markers": lambda: ">" * 100000,
    "stars": lambda: "*" * 100000,
    "brackets": lambda: "[" * 50000,
    "nested brackets": lambda: "[" * 20000 + "a" + "]" * 20000,
    "nested list markers": lambda: "- " * 10000 + "a",
    "1000 indented nested lists": lambda: "".join("  " * i + "* a\n" for i in range(1000)),
    "nested quotes": lambda: "> " * 50000 + "a",
    "nested strong emphasis": lambda: "*a **a " * 3000 + "b" + " a** a*" * 3000,
    "emphasis closers": lambda: "a_ " * 20000,
    "emphasis openers": lambda: "_a " * 20000,
    "mismatched emphasis": lambda: "*a_ " * 10000,
    "multiple of 3 delimiters": lambda: "a**b" + "c* " * 20000,
    "link openers and emphasis closers": lambda: "[ a_" * 15000,
    "[ (](": lambda: "[ (](" * 20000,
    "![[]()": lambda: "![[]()" * 4000,
    "[](": lambda: "[](" * 10000,
    "unclosed angle destinations": lambda: "[a](<b" * 8000,
    "unclosed destinations": lambda: "[a](b" * 8000,
    "reference label openers": lambda: "[a][" * 8000,
    "backtick runs": lambda: "".join("e" + "`" * i for i in range(1, 1000)),
    "footnote ref openers": lambda: "[^a" * 20000 + "\n\n[^a]: x\n",
    "duplicate headings": lambda: "## a\n" * 5000,
    "task items": lambda: "- [ ] a\n" * 5000,
    "wide table": lambda: "|" + "a|" * 5000 + "\n|" + "-|" * 5000 + "\n",
    "nested admonitions": lambda: "".join("    " * i + "!!! note\n" for i in range(200)),
    "NUL bytes": lambda: "abc\x00de\x00" * 10000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_input_renders_quickly(name: str) -> None:
    source = PATHOLOGICAL[name]()
    start = time.process_time()  # CPU time: what the bound is about
    r = render(source)
    full = time.process_time() - start
    if full >= 1.0:
        # Over the bound, which a loaded machine can cause on its own (the process' other
        # threads count too). A blow-up is what the bound is about: then half the input must
        # take about half the time, not a quarter (quadratic) or less.
        start = time.process_time()
        render(source[: len(source) // 2])
        half = time.process_time() - start
        assert full < 3.0 * half and full < 5.0, f"{full:.2f} s for the input, {half:.2f} s for half of it"
    assert_safe(r.html)


def test_ten_thousand_indented_nested_lists_are_refused_quickly() -> None:
    source = "".join("  " * i + "- a\n" for i in range(10_000))  # ~100 MB
    start = time.process_time()
    with pytest.raises(ContentError):
        render(source)
    assert time.process_time() - start < 1.0


def _flat(tokens: list[Token]) -> list[tuple[str, str, str, dict[str, str | int | float]]]:
    out = []
    for t in tokens:
        out.append((t.type, t.tag, t.content, dict(t.attrs)))
        out.extend(_flat(t.children or []))
    return out


STOCK_LABELS = markup._build()  # the same parser with markdown-it's own (quadratic) label scan
STOCK_LABELS.helpers = stock_helpers
WRAPS = st.sampled_from(["[{}]", "[{}](u)", "![{}](u)", "[{}][r]", "[{}", "{}]", "[{}]()", "{}{}"])
BRACKETS = st.recursive(
    st.sampled_from(["a", " ", "*", "`", "\\", "\n", "(", ")", "[", "]", "<http://x>", "[^1]"]),
    lambda inner: st.tuples(WRAPS, inner, inner).map(lambda t: t[0].format(t[1], t[2])),
    max_leaves=16,
)


@example("[a [b [c](d) ] e](f)")  # a link inside a nested plain bracket still disables the outer link
@example("[[a [b](c)]](d)")
@example("[" * 25 + "a" + "]" * 25 + "(b)")  # deeper than maxNesting
@example("[" * 21 + "foo]()")
@example("[![[[a](b)]](c)](d)")
@settings(max_examples=300, deadline=1000, database=None)
@given(BRACKETS.map(lambda s: s + "\n\n[r]: /ref\n\n[^1]: note\n"))
def test_linear_link_labels_parse_exactly_like_markdown_it(source: str) -> None:
    assert _flat(markup._MD.parse(source, {})) == _flat(STOCK_LABELS.parse(source, {}))


MARKDOWNISH = st.lists(
    st.sampled_from(["[", "]", "(", ")", "![", "<", ">", "javascript:", "JaVaScRiPt:", "&#106;", "&#x6A;",
                     "data:text/html,", "vbscript:", "<script>", "onerror=", "\n", "\n\n", "    ", "# ", "## ",
                     "!!! note ", "- ", "1. ", "> ", "|", "---", "```", "`", "*", "_", "~~", "[^1]", "[^1]: ",
                     ": ", "&", ";", "\t", '"', "'", "a", " ", "http://x", "//x", "\\", "\x00", "é"]),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=1000, database=None)
@given(MARKDOWNISH)
def test_random_markdown_renders_safe_html(source: str) -> None:
    r = render(source, resolve_link=lambda t: None)
    assert_safe(r.html)
    ids = re.findall(r' id="([^"]*)"', r.html)
    assert len(ids) == len(set(ids))
    assert all(f'id="{h.id}"' in r.html for h in r.toc)
