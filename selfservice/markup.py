"""Safe markdown → HTML, done once when an article is loaded (never on a request).

The pipeline is markdown-it-py ("commonmark" + table + strikethrough, raw HTML off) with the
mdit-py-plugins for admonitions, footnotes, task lists and definition lists; one pass over the
tokens then applies the link policy, gives headings unique ids and collects the title, the
table of contents, the plain text and every link target with its source line; pygments colours
fenced code with CSS classes only (the portal's CSP forbids inline styles); nh3 finally
sanitizes the HTML against an allow-list of exactly what this renderer produces.

Hostile input is bounded, not special-cased: sources over :data:`MAX_SOURCE_CHARS` are refused
with a :class:`~selfservice.errors.ContentError`; block and inline nesting stop at
``maxNesting``; link labels are matched in one linear scan (markdown-it rescans from every
unclosed ``[`` to the end of the paragraph, which makes ``"[a" * 65000`` quadratic); footnote
labels, heading ids and code highlighting have fixed caps as well.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, cast

import nh3
from markdown_it import MarkdownIt, rules_inline
from markdown_it import helpers as md_helpers
from markdown_it.common.normalize_url import normalizeLink
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.footnote.index import footnote_ref
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from .errors import ContentError

__all__ = ["MAX_SOURCE_CHARS", "Heading", "Rendered", "pygments_css", "render"]

#: Larger sources are refused: no help article needs 2 MB, and it caps the work per file.
MAX_SOURCE_CHARS = 2_000_000
_MAX_NESTING = 20  # markdown-it's CommonMark default: ~9 nested lists, 19 nested quotes
_MAX_HIGHLIGHT_CHARS = 50_000  # bigger code blocks stay plain: pygments' regexes are not linear
_MAX_SLUG_CHARS = 80
_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


@dataclass(frozen=True)
class Heading:
    """One entry of the table of contents."""

    level: int  # 2..4 (h1 is the page title)
    id: str  # the anchor, unique within the document
    text: str  # plain text


@dataclass(frozen=True, slots=True)
class Rendered:
    """Everything the loader keeps from one markdown source."""

    html: str  # sanitized HTML fragment
    text: str  # plain text of the body, paragraphs separated by blank lines
    toc: tuple[Heading, ...]
    title: str | None  # text of a leading H1, if the source starts with one
    links: tuple[tuple[str, int], ...]  # (raw link target, 1-based source line) of every link


# --- bounded parsing -------------------------------------------------------------------------

_LABELS = "selfservice.labels"  # our keys in StateInline.cache; markdown-it's own keys are ints
_NEWLINES = "selfservice.newlines"


def _memo(state: StateInline, key: object, make: Callable[[], Any]) -> Any:
    cache = cast(dict[object, Any], state.cache)
    found = cache.get(key)
    if found is None:
        found = cache[key] = make()
    return found


def _parse_link_label(state: StateInline, start: int, disableNested: bool = False) -> int:
    """markdown-it's ``parseLinkLabel`` made linear: one scan settles every ``[`` it passes.

    The scan keeps a stack of the plain ``[`` it meets and records where each one closes
    (or that it never does), so a later call for any of them is a lookup, and a scan that
    meets an already settled ``[`` jumps over it. ``nested`` records whether a link-like token
    sat inside, which is what ``disableNested`` rejects.
    """
    memo: dict[int, tuple[int, bool]] = _memo(state, (_LABELS, state.posMax), dict)
    if start not in memo:
        last_close = _memo(state, (_LABELS, "]", state.posMax), lambda: state.src.rfind("]", 0, state.posMax))
        if start > last_close:
            return -1
        old_pos, src, inline = state.pos, state.src, state.md.inline
        stack: list[tuple[int, int]] = [(start, 0)]  # (position, tokens_seen when opened)
        tokens_seen = 0
        state.pos = start + 1
        while state.pos < state.posMax and stack:
            marker = src[state.pos]
            if marker == "]":
                opened, seen = stack.pop()
                memo[opened] = (state.pos, tokens_seen > seen)
                if not stack:
                    break
            before = state.pos
            inline.skipToken(state)
            if marker != "[":
                continue
            if state.pos != before + 1:
                tokens_seen += 1  # a link-like token starts here
            elif before in memo:  # settled by the scan the link rule just ran: jump over it
                end, nested = memo[before]
                if end < 0:
                    break  # it never closes, so nothing open around it can
                state.pos, tokens_seen = end + 1, tokens_seen + nested
            else:
                stack.append((before, tokens_seen))
        for opened, _ in stack:
            memo[opened] = (-1, False)
        state.pos = old_pos
    end, nested = memo[start]
    return -1 if disableNested and nested else end


def _line_in(state: StateInline, pos: int) -> int:
    """0-based line of ``pos`` within the inline source (newline offsets computed once)."""
    newlines = _memo(state, _NEWLINES, lambda: [m.start() for m in re.finditer("\n", state.src)])
    return bisect_right(newlines, pos)


def _with_line(rule: Callable[[StateInline, bool], bool]) -> Callable[[StateInline, bool], bool]:
    """Wrap a link-making inline rule so its token remembers the line it started on."""

    def wrapped(state: StateInline, silent: bool) -> bool:
        if silent:
            return rule(state, silent)
        start, first = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        for tok in state.tokens[first:]:  # pending text may be flushed first
            if tok.type in ("link_open", "image"):
                tok.meta["line"] = _line_in(state, start)
                break
        return True

    return wrapped


_FOOTNOTE_REF_RE = re.compile(r"\[\^[^\s\]]{1,200}\]")


def _footnote_ref(state: StateInline, silent: bool) -> bool:
    """The plugin scans to the paragraph's end from every ``[^``; a label has ≤ 200 chars."""
    if state.src.startswith("[^", state.pos) and _FOOTNOTE_REF_RE.match(state.src, state.pos, state.posMax):
        return footnote_ref(state, silent)
    return False


# --- rendering -------------------------------------------------------------------------------

_FORMATTER = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def _lexer(lang: str) -> Lexer | None:
    try:
        return get_lexer_by_name(lang)
    except ClassNotFound:
        return None


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """Fenced code: pygments spans with classes, or escaped plain text for unknown languages."""
    token = tokens[idx]
    info = unescapeAll(token.info).strip()
    lexer = _lexer(info.split()[0].lower()) if info else None
    if lexer is None or len(token.content) > _MAX_HIGHLIGHT_CHARS:
        return f"<pre><code>{escapeHtml(token.content)}</code></pre>\n"
    return f'<pre class="highlight"><code>{highlight(token.content, lexer, _FORMATTER)}</code></pre>\n'


def _table_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # A scrolling box must be reachable and named for keyboard and screen-reader users.
    return '<div class="table-wrap" tabindex="0" role="region" aria-label="Table">\n' + str(self.renderToken(tokens, idx, options, env))


def _table_close(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return str(self.renderToken(tokens, idx, options, env)) + "</div>\n"


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "maxNesting": _MAX_NESTING})
    md.enable(["table", "strikethrough"])
    md.use(admon_plugin).use(footnote_plugin, inline=False).use(deflist_plugin)
    stock = {name: getattr(md_helpers, name) for name in md_helpers.__all__}
    md.helpers = cast(Any, SimpleNamespace(**{**stock, "parseLinkLabel": _parse_link_label}))
    md.inline.ruler.at("link", _with_line(rules_inline.link))
    md.inline.ruler.at("image", _with_line(rules_inline.image))
    md.inline.ruler.at("autolink", _with_line(rules_inline.autolink))
    md.inline.ruler.at("footnote_ref", _footnote_ref)
    # Keep targets raw so the policy pass sees what the writer typed; it normalizes afterwards.
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.add_render_rule("fence", _fence)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    return md


_MD = _build()

_ADMONITIONS = {"note", "tip", "hint", "info", "important", "warning", "caution", "attention",
                "danger", "error", "success", "question", "example", "quote", "abstract", "bug",
                "failure", "seealso", "todo", "is-collapsible", "collapsible-open", "collapsible-closed"}
_CLEAN: dict[str, Any] = {
    "tags": {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
             "pre", "code", "span", "em", "strong", "s", "a", "img", "table", "thead", "tbody", "tr",
             "th", "td", "div", "section", "sup", "input", "dl", "dt", "dd"},
    "attributes": {**{f"h{n}": {"id"} for n in range(1, 7)},
                   "a": {"href", "title", "rel", "id"}, "li": {"id"}, "ol": {"start"},
                   "img": {"src", "alt", "title", "loading", "width", "height"},
                   "input": {"type", "checked", "disabled", "aria-label"},
                   "div": {"tabindex", "role", "aria-label"}},
    "allowed_classes": {
        "div": {"table-wrap", "admonition", *_ADMONITIONS}, "p": {"admonition-title"},
        "pre": {"highlight"}, "span": {c for c in STANDARD_TYPES.values() if c},
        "ul": {"contains-task-list"}, "ol": {"contains-task-list", "footnotes-list"},
        "li": {"task-list-item", "footnote-item"}, "input": {"task-list-item-checkbox"},
        "hr": {"footnotes-sep"}, "section": {"footnotes"}, "sup": {"footnote-ref"},
        "a": {"footnote-backref"}, **{t: {"align-left", "align-center", "align-right"} for t in ("th", "td")},
    },
    "url_schemes": set(_SCHEMES),
    "link_rel": None,  # rel is set by the policy pass, on external links only
}


# --- the token pass --------------------------------------------------------------------------

_INVISIBLE_RE = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_FOOTNOTE_ID_RE = re.compile(r"fn(ref)?\d+")
_TASK_RE = re.compile(r"\[([ xX])\][ \t\n\v\f\r]")


def _kind(target: str) -> str:
    """'bad', 'external', 'scheme' (mailto/tel), 'fragment' or 'relative'.

    Browsers ignore tabs, newlines and leading control characters in URLs and read ``\\`` as
    ``/``, so the scheme is judged on the squeezed string (entities are decoded by the parser).
    """
    squeezed = _INVISIBLE_RE.sub("", target)
    m = _SCHEME_RE.match(squeezed)
    if m is not None:
        scheme = m.group(1).lower()
        if scheme not in _SCHEMES:
            return "bad"
        return "external" if scheme.startswith("http") else "scheme"
    if squeezed[:2].replace("\\", "/") == "//":
        return "external"
    return "fragment" if squeezed.startswith("#") else "relative"


def _plain(children: Sequence[Token] | None) -> str:
    """Plain text of inline tokens; images count as their alt text."""
    out: list[str] = []
    for tok in children or ():
        if tok.type in ("text", "code_inline", "text_special"):
            out.append(tok.content)
        elif tok.type == "softbreak":
            out.append(" ")
        elif tok.type == "hardbreak":
            out.append("\n")
        elif tok.type == "image":
            out.append(_plain(tok.children))
    return "".join(out)


def _task(inline: Token, item: Token, parent: Token) -> None:
    """GFM task item: a disabled checkbox (linear; the plugin rescans for each item's list)."""
    first = inline.children[0] if inline.children else None
    m = _TASK_RE.match(first.content) if first is not None and first.type == "text" else None
    if first is None or m is None or inline.children is None:
        return
    done = m.group(1) != " "
    checked, label = (' checked="checked"', "Done") if done else ("", "Not done")
    box = f'<input class="task-list-item-checkbox"{checked} aria-label="{label}" disabled="disabled" type="checkbox">'
    first.content = first.content[3:]
    inline.children.insert(0, Token("html_inline", "", 0, content=box))
    item.attrSet("class", "task-list-item")
    parent.attrSet("class", "contains-task-list")


def _slug(text: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", unicodedata.normalize("NFKC", text).lower())
    slug = re.sub(r"\s+", "-", slug.strip())[:_MAX_SLUG_CHARS].strip("-") or "section"
    return f"h-{slug}" if _FOOTNOTE_ID_RE.fullmatch(slug) else slug  # footnotes own fn1, fnref1


class _Pass:
    """One walk over the token stream: link policy, ids, toc, text and link lines."""

    def __init__(self, resolve_link: Callable[[str], str | None] | None) -> None:
        self.resolve_link = resolve_link
        self.links: list[tuple[str, int]] = []
        self.toc: list[Heading] = []
        self.chunks: list[str] = []
        self.row: list[str] | None = None
        self.next_suffix: dict[str, int] = {}
        self.ids: set[str] = set()

    def unique(self, base: str) -> str:
        n = self.next_suffix.get(base, 0)
        candidate = base if n == 0 else f"{base}-{n}"
        while candidate in self.ids:
            n += 1
            candidate = f"{base}-{n}"
        self.next_suffix[base] = n + 1
        self.ids.add(candidate)
        return candidate

    def run(self, tokens: list[Token], skip: int = 0) -> None:
        """Walk ``tokens``; the first ``skip`` ones (a dropped title) give links only."""
        line, lists = 1, []
        for i, tok in enumerate(tokens):
            if tok.map is not None:
                line = tok.map[0] + 1
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                lists.append(tok)
            elif tok.type in ("bullet_list_close", "ordered_list_close"):
                if lists:  # a token run can start inside a list (hypothesis found one): its close has no open here
                    lists.pop()
            elif tok.type == "heading_open":
                text = _plain(tokens[i + 1].children)
                tok.attrSet("id", self.unique(_slug(text)))
                level = int(tok.tag[1])
                if 2 <= level <= 4 and tok.level == 0:
                    self.toc.append(Heading(level, str(tok.attrGet("id")), text))
            elif tok.type in ("th_open", "td_open") and tok.attrs.get("style"):
                align = str(tok.attrs.pop("style")).rpartition(":")[2]
                tok.attrSet("class", f"align-{align}")
            elif tok.type == "tr_open":
                self.row = []
            elif tok.type == "tr_close" and self.row is not None:
                self.chunks.append(" ".join(c for c in self.row if c))
                self.row = None
            elif tok.type in ("fence", "code_block"):
                self.chunks.append(tok.content.rstrip("\n"))
            elif tok.type == "inline":
                if lists and tokens[i - 1].type == "paragraph_open" and tokens[i - 2].type == "list_item_open":
                    _task(tok, tokens[i - 2], lists[-1])
                tok.children = self.inline(tok.children or [], line)
                text = _plain(tok.children).strip()
                if i < skip:
                    continue
                if self.row is not None:
                    self.row.append(text)
                elif text:
                    self.chunks.append(text)

    def inline(self, children: list[Token], line: int) -> list[Token]:
        """Apply the link policy; drop links with bad targets but keep their text."""
        out: list[Token] = []
        dropped: list[bool] = []  # one entry per open link
        for tok in children:
            if tok.type == "link_close":
                if not (dropped.pop() if dropped else False):
                    out.append(tok)
                continue
            if tok.type in ("link_open", "image"):
                attr = "href" if tok.type == "link_open" else "src"
                raw = str(tok.attrGet(attr) or "")
                self.links.append((raw, line + tok.meta.get("line", 0)))
                url = self.target(raw)
                if tok.type == "link_open":
                    dropped.append(url is None)
                    if url is None:
                        continue
                    if _kind(url) == "external":
                        tok.attrSet("rel", "noopener noreferrer")
                elif url is None:
                    out.append(Token("text", "", 0, content=_plain(tok.children)))
                    continue
                else:
                    tok.attrSet("loading", "lazy")
                tok.attrSet(attr, url)
            out.append(tok)
        return out

    def target(self, raw: str) -> str | None:
        """The href/src to emit for ``raw``, or None when the link must go."""
        kind = _kind(raw)
        if kind == "bad":
            return None
        if kind == "relative" and raw and self.resolve_link is not None:
            resolved = self.resolve_link(raw)
            if resolved is not None:
                raw = resolved
                if _kind(raw) == "bad":
                    return None
        return normalizeLink(raw)


def render(
    source: str,
    *,
    resolve_link: Callable[[str], str | None] | None = None,
    drop_leading_h1: bool = True,
) -> Rendered:
    """Render one markdown source to sanitized HTML plus its title, toc, text and links.

    ``resolve_link`` sees every relative link or image target (not absolute URLs, mailto,
    tel or bare ``#fragments``); a string it returns replaces the target.
    """
    if len(source) > MAX_SOURCE_CHARS:
        raise ContentError(
            f"the markdown is {len(source):,} characters long; the limit is {MAX_SOURCE_CHARS:,}."
            " Split it into several articles."
        )
    env: EnvType = {}
    tokens = _MD.parse(source, env)
    title, skip = None, 0
    if tokens and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = _plain(tokens[1].children).strip() or None
        skip = 3 if drop_leading_h1 else 0
    walk = _Pass(resolve_link)
    walk.run(tokens, skip)
    del tokens[:skip]
    html = nh3.clean(_MD.renderer.render(tokens, _MD.options, env), **_CLEAN)
    return Rendered(html, "\n\n".join(walk.chunks), tuple(walk.toc), title, tuple(walk.links))


def pygments_css() -> str:
    """Stylesheet for highlighted code: light theme, then a dark one under prefers-color-scheme.

    Only ``.highlight``-scoped rules (no bare ``pre`` rules leak onto the host page). The dark
    block first resets every token so light-only rules cannot leave dark-on-dark text.
    """

    def rules(style: str) -> str:
        fmt = HtmlFormatter(style=style)
        return "\n".join([*fmt.get_background_style_defs(".highlight"), *fmt.get_token_style_defs(".highlight")])

    reset = (".highlight [class] { color: inherit; background-color: transparent;"
             " font-weight: inherit; font-style: inherit; border: none }")
    dark = "\n".join(f"  {line}" for line in f"{reset}\n{rules('github-dark')}".splitlines())
    return f"{rules('default')}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
