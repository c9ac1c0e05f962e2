"""The default theme's stylesheet, its docs and the example theme agree with each other.

portal.css is served fingerprinted; every --ss-* property it uses is defined on :root and
documented (with its light and dark default) in docs/theming.md; every class the help-centre
templates and the markdown renderer emit is styled; the text colours meet WCAG AA in light and dark,
for the default theme and for themes/harbour; a theme and a host folder each override one
template block with the rest of the page intact.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from selfservice import Settings, create_portal
from selfservice.markup import pygments_css, render
from selfservice.templating import which_templates
from selfservice.theming import PACKAGE_DIR, load_theme
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parent.parent
CSS_BYTES = (PACKAGE_DIR / "static" / "portal.css").read_bytes()
CSS = re.sub(r"/\*.*?\*/", "", CSS_BYTES.decode("utf-8"), flags=re.S)
# Every stylesheet the package ships (portal.css first): together they style the templates.
ALL_CSS = CSS + "".join(
    re.sub(r"/\*.*?\*/", "", p.read_text(encoding="utf-8"), flags=re.S)
    for p in sorted((PACKAGE_DIR / "static").glob("*.css"))
    if p.name != "portal.css"
)
DOCS = (ROOT / "docs" / "theming.md").read_text(encoding="utf-8")
TEMPLATES = sorted((PACKAGE_DIR / "templates").glob("*.html"))
# The help-centre pages portal.css styles; account, form and hours pages bring their own
# stylesheets (accounts.css), which only use portal.css's variables.
PORTAL_TEMPLATES = [
    PACKAGE_DIR / "templates" / name
    for name in ("base.html", "_macros.html", "_manual.html", "home.html", "category.html", "article.html", "search.html",
                 "404.html", "error.html", "manual.html", "chapter.html", "manual_print.html")
]
HARBOUR = ROOT / "themes" / "harbour"

# Text colour, background: at least 4.5:1 (WCAG 1.4.3) wherever the pair meets on a page.
TEXT_PAIRS = [
    ("--ss-fg", "--ss-bg"),
    ("--ss-fg", "--ss-surface"),
    ("--ss-fg", "--ss-hero-bg"),
    ("--ss-muted", "--ss-bg"),
    ("--ss-muted", "--ss-surface"),
    ("--ss-muted", "--ss-hero-bg"),
    ("--ss-link", "--ss-bg"),
    ("--ss-link", "--ss-surface"),
    ("--ss-link", "--ss-hero-bg"),
    ("--ss-link", "--ss-mark-bg"),
    ("--ss-accent", "--ss-bg"),  # eyebrow text
    ("--ss-accent-fg", "--ss-accent"),  # buttons, skip link, current version
    ("--ss-accent-fg", "--ss-accent-hover"),
    ("--ss-header-fg", "--ss-header-bg"),
    ("--ss-mark-fg", "--ss-mark-bg"),  # search snippets
    ("--ss-code-fg", "--ss-code-bg"),
    ("--ss-note", "--ss-surface"),  # admonition titles
    ("--ss-tip", "--ss-surface"),
    ("--ss-warning", "--ss-surface"),
    ("--ss-danger", "--ss-surface"),
    ("--ss-banner-fg", "--ss-banner-bg"),
]
# Boundaries and focus rings: at least 3:1 (WCAG 1.4.11).
NON_TEXT_PAIRS = [
    ("--ss-border-strong", "--ss-bg"),
    ("--ss-focus", "--ss-bg"),
    ("--ss-focus", "--ss-surface"),
    ("--ss-focus", "--ss-banner-bg"),
    ("--ss-brand", "--ss-header-bg"),
]
# Classes that are hooks for hosts' and themes' CSS and need no default rule: the body's
# page classes (set in each template's body_class block).
HOOKS = {"ss-page-home", "ss-page-category", "ss-page-article", "ss-page-error", "ss-page-404", "ss-page-print"}
# Classes of the rendered markdown that need no rule: plain list items and footnote links
# look right as they are; "note" is the admonition default; the rest are Pygments tokens.
UNSTYLED_MARKUP = {"task-list-item", "footnote-item", "footnote-ref", "footnote-backref", "note"}
SAMPLE_MARKDOWN = """\
Text with a footnote[^1] and [a link](https://example.com).

!!! note
    A note.

!!! warning "Careful"
    A warning.

!!! tip
    A tip.

!!! danger
    Danger.

| left | centre | right |
|:-----|:------:|------:|
| 1    | 2      | 3     |

- [ ] to do
- [x] done

```python
print("hi")
```

[^1]: The footnote.
"""


# --- reading the stylesheet ---------------------------------------------------------------


def _declarations(body: str) -> dict[str, str]:
    return {k: v.strip() for k, v in re.findall(r"(--ss-[a-z0-9-]+)\s*:\s*([^;{}]+)", body)}


def _block(pattern: str) -> dict[str, str]:
    m = re.search(pattern, CSS, re.M | re.S)
    assert m, f"portal.css has no block matching {pattern!r}"
    return _declarations(m.group(1))


LIGHT = _block(r"^:root\s*\{([^}]*)\}")
DARK = _block(r"@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{([^}]*)\}")
PRINT = _block(r"@media print\s*\{\s*:root\s*\{([^}]*)\}")


def _schemes(theme: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Effective values in light and dark, as the cascade gives them.

    theme-vars.css comes after portal.css: its plain :root values apply in both schemes
    (over portal.css's dark block too) and its -dark values in dark only.
    """
    plain = {k: v for k, v in (theme or {}).items() if not k.endswith("-dark")}
    dark = {k.removesuffix("-dark"): v for k, v in (theme or {}).items() if k.endswith("-dark")}
    return {"light": {**LIGHT, **plain}, "dark": {**LIGHT, **DARK, **plain, **dark}}


def _resolve(values: Mapping[str, str], name: str) -> str:
    value = values[name]
    for _ in range(10):
        m = re.fullmatch(r"var\((--[a-z0-9-]+)\)", value.strip())
        if m is None:
            return value.strip()
        value = values[m.group(1)]
    raise AssertionError(f"{name}: var() chain too deep")


def _luminance(colour: str) -> float:
    hexa = colour.lstrip("#")
    assert re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}", hexa), f"{colour!r} is not a #hex colour"
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    channels = [int(hexa[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #hex colours, 1 to 21."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _failures(theme: Mapping[str, str] | None, text: float = 4.5, non_text: float = 3.0) -> list[str]:
    """Colour pairs below the contrast ``text`` / ``non_text`` needs (WCAG AA: 4.5 and 3)."""
    out = []
    for scheme, values in _schemes(theme).items():
        for pairs, minimum in ((TEXT_PAIRS, text), (NON_TEXT_PAIRS, non_text)):
            for fg, bg in pairs:
                a, b = _resolve(values, fg), _resolve(values, bg)
                ratio = contrast(a, b)
                if ratio < minimum:
                    out.append(f"{scheme}: {fg} {a} on {bg} {b} is {ratio:.2f}:1, needs {minimum}:1")
    return out


def _harbour_variables() -> dict[str, str]:
    return dict(load_theme(str(HARBOUR)).variables)


# --- the stylesheet on its own ------------------------------------------------------------


def test_contrast_helper_matches_wcag_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#fff", "#fff") == pytest.approx(1.0)


def test_every_variable_used_is_defined_on_root() -> None:
    """In every package stylesheet, so a theme that sets the documented variables restyles all."""
    used = set(re.findall(r"var\((--ss-[a-z0-9-]+)", ALL_CSS))
    assert used, "portal.css uses no --ss-* variables"
    assert sorted(used - set(LIGHT)) == []


def test_variables_are_only_defined_in_the_root_blocks() -> None:
    defined = set(re.findall(r"(--ss-[a-z0-9-]+)\s*:", CSS))
    assert defined == set(LIGHT)
    assert set(DARK) <= set(LIGHT) and set(PRINT) <= set(LIGHT)


def test_colours_only_appear_in_root_blocks() -> None:
    outside = re.sub(r":root\s*\{[^}]*\}", "", CSS)
    assert re.findall(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?|hwb|oklch|lab)\(", outside) == []


def test_no_imports_external_urls_or_web_fonts() -> None:
    lowered = CSS.lower()
    for banned in ("@import", "@font-face", "url(", "http://", "https://", "expression("):
        assert banned not in lowered, banned
    assert len(CSS_BYTES) < 25_000, f"portal.css is {len(CSS_BYTES):,} bytes; keep it lean"


def test_templates_have_no_inline_styles_or_scripts() -> None:
    for path in TEMPLATES:
        text = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.S)  # not comments
        assert not re.search(r"\sstyle\s*=|<style\b", text, re.I), path.name
        # A JSON data block (structured data) is not run, so the CSP has nothing to forbid.
        assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/ld\+json\"))[^>]*>", text, re.I), path.name


def test_light_and_dark_text_meet_wcag_aa() -> None:
    assert _failures(None) == []


def test_highlighted_code_tokens_meet_wcag_aa_on_the_code_background() -> None:
    light_rules, dark_rules = pygments_css().split("@media (prefers-color-scheme: dark)")
    for theme in (None, _harbour_variables()):
        schemes = _schemes(theme)
        for scheme, rules in (("light", light_rules), ("dark", dark_rules)):
            background = _resolve(schemes[scheme], "--ss-code-bg")
            for selector, colour in re.findall(r"(\.highlight[^{]*)\{[^}]*?(?<!-)color:\s*(#[0-9A-Fa-f]{3,6})", rules):
                if selector.strip() == ".highlight .w":  # whitespace: no visible text
                    continue
                ratio = contrast(colour, background)
                assert ratio >= 4.5, f"{scheme}: {selector.strip()} {colour} on {background} is {ratio:.2f}:1"


def test_print_is_black_on_white_and_breaks_before_each_chapter() -> None:
    paper = {**LIGHT, **PRINT}
    assert contrast(_resolve(paper, "--ss-fg"), _resolve(paper, "--ss-bg")) == pytest.approx(21.0)
    body = CSS[CSS.index("@media print") :]
    assert re.search(r"\.ss-print__chapter\s*\{[^}]*break-before:\s*page", body)
    assert 'a[href^="http"]::after { content: " (" attr(href) ")"' in body
    hidden = re.search(r"([^{}]+)\{\s*display:\s*none\s*!important", body)
    assert hidden
    for part in (".ss-header", ".ss-nav", ".ss-search", ".ss-footer", ".ss-toc", ".ss-sidebar", ".ss-manual-nav"):
        assert part in hidden.group(1), part


# --- styles cover the markup --------------------------------------------------------------


def _css_classes(css: str = CSS) -> set[str]:
    return set(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", css))


def _class_names(chunk: str) -> list[str]:
    """Class names in a class attribute's template source. ``ss-x{{ ' ss-y' if c }}`` is two
    names; ``ss-x--{{ 'a' if c else 'b' }}`` is each name it can make; a name finished by data
    (``ss-status--{{ o.status }}``) is a prefix, written with a trailing ``*``."""
    names: list[str] = []
    for m in re.finditer(r"(ss-[a-z0-9_-]+)(?:\{\{(.*?)\}\})?", chunk):
        name, expr = m.group(1), m.group(2)
        literals = re.findall(r"'([^']*)'", expr or "")
        if expr is None or any(lit.startswith(" ") for lit in literals):
            names.append(name)
            for lit in literals:
                if lit.startswith(" "):
                    names += _class_names(lit + ("{{ }}" if lit.endswith("-") else ""))
        else:
            names += [name + lit for lit in literals] if literals else [name + "*"]
    return names


def _template_classes() -> dict[str, set[str]]:
    """Class name (or prefix*) → the templates using it, body_class blocks included."""
    found: dict[str, set[str]] = {}
    for path in PORTAL_TEMPLATES:
        text = path.read_text(encoding="utf-8")
        chunks = re.findall(r'class="([^"]*)"', text) + re.findall(r"\{% block body_class %\}(.*?)\{% endblock %\}", text)
        for chunk in chunks:
            for name in _class_names(chunk):
                found.setdefault(name, set()).add(path.name)
    return found


def test_class_names_follow_jinja() -> None:
    assert _class_names("ss-article{{ ' ss-article--toc' if article.toc }}") == ["ss-article", "ss-article--toc"]
    assert _class_names("ss-open-now ss-open-now--{{ 'open' if on else 'closed' }}") == [
        "ss-open-now", "ss-open-now--open", "ss-open-now--closed"]
    assert _class_names("ss-toc__item ss-toc__item--h{{ h.level }}") == ["ss-toc__item", "ss-toc__item--h*"]
    assert _class_names("ss-input{{ ' ss-input--' ~ width if width }}") == ["ss-input", "ss-input--*"]
    assert _class_names("{{ 'ss-search__label' if v else 'ss-sr-only' }}") == ["ss-search__label", "ss-sr-only"]
    assert _class_names("ss-scale{{ ' ss-field--error' if errors.get('score') }}") == ["ss-scale", "ss-field--error"]


def test_every_template_class_is_styled() -> None:
    classes = _template_classes()
    assert {"ss-article", "ss-article--toc", "ss-toc__item--h*", "ss-page-chapter", "ss-search--big"} <= set(classes)
    styled = _css_classes()
    missing = {
        name: sorted(where)
        for name, where in classes.items()
        if name not in HOOKS
        and (not any(c.startswith(name[:-1]) for c in styled) if name.endswith("*") else name not in styled)
    }
    assert missing == {}


def test_hooks_allow_list_is_current() -> None:
    """An allow-listed hook that gained a rule, or left the templates, leaves the list."""
    classes = _template_classes()
    assert sorted(h for h in HOOKS if h not in classes or h in _css_classes()) == []


def test_every_class_of_rendered_markdown_is_styled() -> None:
    html = render(SAMPLE_MARKDOWN).html
    token_classes = set(re.findall(r'<span class="([^"]+)"', html))
    classes = {c for attr in re.findall(r'class="([^"]+)"', html) for c in attr.split()} - token_classes
    assert {"admonition", "table-wrap", "align-center", "contains-task-list", "footnotes", "highlight"} <= classes
    assert sorted(classes - _css_classes() - UNSTYLED_MARKUP) == []


# --- docs ---------------------------------------------------------------------------------


def _doc_row(name: str) -> list[str]:
    m = re.search(rf"^\| `{re.escape(name)}` \|(.*)\|\s*$", DOCS, re.M)
    assert m, f"docs/theming.md has no table row for {name}"
    return [cell.strip() for cell in m.group(1).split("|")]


def test_every_variable_is_documented_with_its_defaults() -> None:
    for name, light in LIGHT.items():
        cells = _doc_row(name)
        assert cells[0] == f"`{light}`", f"{name}: docs say {cells[0]}, portal.css says {light}"
        if name in DARK:
            assert cells[1] == f"`{DARK[name]}`", f"{name} (dark): docs say {cells[1]}, portal.css says {DARK[name]}"


def test_every_template_block_is_documented() -> None:
    blocks = {b for path in TEMPLATES for b in re.findall(r"\{%-?\s*block\s+(\w+)", path.read_text(encoding="utf-8"))}
    assert {"content", "sidebar", "hero", "feedback", "no_results"} <= blocks
    assert sorted(b for b in blocks if f"`{b}`" not in DOCS) == []


def test_docs_name_the_lookup_order_prefixes_cli_and_entry_point() -> None:
    for phrase in ('"default:', "theme:", "`selfservice templates", "selfservice.themes", "theme.yml", "-dark"):
        assert phrase in DOCS, phrase
    assert "docs/theming.md" in (ROOT / "README.md").read_text(encoding="utf-8")


# --- served -------------------------------------------------------------------------------


def _stylesheet_links(html: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)


def test_portal_css_is_fingerprinted_immutable_and_gzipped(client: TestClient) -> None:
    links = _stylesheet_links(client.get("/help/").text)
    names = [Path(link).name.split(".")[0] for link in links]
    assert names[0] == "portal" and "code" in names and "theme" not in names and "theme-vars" not in names
    digest = hashlib.sha256(CSS_BYTES).hexdigest()[:8]
    assert links[0] == f"/help/static/portal.{digest}.css"
    r = client.get(links[0], headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/css; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(CSS_BYTES) // 3
    assert r.content == CSS_BYTES  # the client un-gzips
    assert client.get(links[0], headers={"if-none-match": r.headers["etag"]}).status_code == 304
    assert client.get("/help/static/portal.css").status_code == 404


def test_favicon_is_served_as_svg(client: TestClient) -> None:
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', client.get("/help/").text)
    assert href and re.fullmatch(r"/help/static/favicon\.[0-9a-f]{8}\.svg", href.group(1))
    r = client.get(href.group(1))
    assert r.headers["content-type"] == "image/svg+xml" and r.text.startswith("<svg")


# --- the example theme and template overrides ---------------------------------------------


@pytest.fixture(scope="module")
def harbour(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[TestClient]:
    portal = create_portal(
        Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path_factory.mktemp("harbour"), theme=str(HARBOUR))
    )
    with TestClient(Starlette(routes=[Mount("/help", app=portal)])) as c:
        yield c


def test_harbour_theme_loads_with_light_and_dark_variables() -> None:
    theme = load_theme(str(HARBOUR))
    assert theme.name == "harbour" and theme.description
    assert theme.templates_dir == HARBOUR / "templates" and theme.static_dir == HARBOUR / "static"
    assert theme.parent is not None and theme.parent.is_default
    colours = [k for k in theme.variables if not k.endswith("-dark") and theme.variables[k].startswith("#")]
    assert colours and all(f"{k}-dark" in theme.variables for k in colours), "every colour needs a -dark twin"
    assert sorted(set(k.removesuffix("-dark") for k in theme.variables) - set(LIGHT)) == []


def test_harbour_text_meets_wcag_aa() -> None:
    assert _failures(_harbour_variables()) == []


def test_harbour_is_served_with_theme_css_and_its_variables(harbour: TestClient) -> None:
    home = harbour.get("/help/")
    assert home.status_code == 200
    links = _stylesheet_links(home.text)
    names = [Path(link).name.split(".")[0] for link in links]
    assert names[0] == "portal" and names[-2:] == ["theme", "theme-vars"]
    assert "harbour-footer__note" in harbour.get(links[-2]).text
    variables = harbour.get(links[-1]).text
    light, _, dark = variables.partition("@media (prefers-color-scheme:dark)")
    for name, value in _harbour_variables().items():
        if name.endswith("-dark"):
            assert f"{name.removesuffix('-dark')}:{value};" in dark, name
        else:
            assert f"{name}:{value};" in light, name


def test_harbour_overrides_one_block_and_keeps_the_rest(harbour: TestClient) -> None:
    html = harbour.get("/help/").text
    assert 'class="harbour-footer__note"' in html  # its footer block
    assert 'class="ss-brand"' in html and 'class="ss-hero"' in html and 'class="ss-nav"' in html  # the default's


def test_host_folder_extends_default_and_theme_one_block_each(tmp_path: Path, demo_dir: Path) -> None:
    host = tmp_path / "templates"
    host.mkdir()
    (host / "article.html").write_text(
        '{% extends "default:article.html" %}\n'
        '{% block feedback %}<p class="host-feedback">Was this useful?</p>{% endblock %}\n',
        encoding="utf-8",
    )
    (host / "base.html").write_text('{% extends "theme:base.html" %}\n{% block nav %}{% endblock %}\n', encoding="utf-8")
    settings = Settings(
        content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path / "data", theme=str(HARBOUR), template_dirs=[host]
    )
    portal = create_portal(settings)
    art = next(a for a in portal.ss.library.articles.values() if a.toc)
    with TestClient(portal) as c:
        html = c.get(f"/a/{art.slug}").text
    assert '<p class="host-feedback">Was this useful?</p>' in html  # the host's block ...
    assert 'class="ss-toc"' in html and 'class="ss-article__body ss-prose"' in html  # ... in the default page
    assert 'class="harbour-footer__note"' in html  # the theme's base.html still extends the default
    assert 'class="ss-nav"' not in html and 'class="ss-brand"' in html  # the host emptied one block of it
    choice = next(c for c in which_templates(settings, load_theme(str(HARBOUR))) if c.name == "base.html")
    assert choice.winner == host / "base.html"
    assert choice.shadowed == (HARBOUR / "templates" / "base.html", PACKAGE_DIR / "templates" / "base.html")
