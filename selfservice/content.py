"""Loading articles: front matter, categories, pre-rendered HTML, cached by file mtime.

Data flows one way: markdown files → :class:`Article` (rendered once here) → search index
and views. :func:`load_library` reuses the articles of a previous :class:`Library` whose
file has not changed (same ``mtime_ns`` and size), so a reload after a writer saves one file
re-renders that file only.

Internal links are written by writers as relative file links (``../billing/refunds.md#fees``)
and rewritten to ``ROOT_MARKER/a/<slug>#fees``; the views replace :data:`ROOT_MARKER` with
the mount's root path (or the absolute base URL for the API), because the same pre-rendered
HTML is served under whatever prefix the host mounts the portal at.

Translations follow a file naming rule: ``refunds.de.md`` next to ``refunds.md`` is the German
version of that article. It shares the original's slug and URL, takes its locale from the
file name, and lives in :attr:`Library.translations`, not in ``articles``: lists and the
sitemap show the originals, and the views swap in the visitor's language with
:meth:`Library.localized` (docs/i18n.md). Search indexes every version
(:meth:`Library.indexable`), each in its own language.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from babel import Locale, UnknownLocaleError

from .bodies import Body, BodyStore
from .bodies import body_key as body_key_of
from .errors import ContentError, FrontMatterError
from .manuals import (
    ATTACHMENT_TYPES,
    Manual,
    ManualSpec,
    build_manuals,
    find_manual_specs,
)
from .markup import Heading, render

__all__ = [
    "ROOT_MARKER",
    "Article",
    "Category",
    "Library",
    "Problem",
    "load_library",
    "parse_front_matter",
]

ROOT_MARKER = "/__ssroot__"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
#: ``refunds.de`` or ``refunds.pt_BR``: a file stem naming the article it translates and a locale.
TRANSLATION_RE = re.compile(r"^(?P<original>.+)\.(?P<locale>[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?)$")
KNOWN_KEYS = frozenset(
    {
        "title", "slug", "summary", "description", "category", "tags", "updated", "locale",
        "draft", "related", "keywords", "aliases", "contexts", "source", "order",
    }
)  # fmt: skip
_FENCE = "---"
MAX_FILE_BYTES = 2_000_000


@dataclass(init=False, eq=False, repr=False)  # so dataclasses.replace() and fields() work
class Article:
    """One help article: what lists and navigation need, in memory, and its body on demand.

    ``body_html``, ``body_text``, ``toc`` and ``links`` come from :attr:`body`, which an
    article loaded with a data folder reads from the :class:`~selfservice.bodies.BodyStore`
    when asked (see ``bodies.py``); an article built in memory keeps its body itself.
    ``body_key`` is a digest of the body: it changes whenever the body does.
    Immutable once loaded.
    """

    __slots__ = (
        "body_key", "category", "contexts", "draft", "extra", "in_memory", "keywords", "locale", "manual",
        "mtime_ns", "path", "related", "slug", "store", "summary", "tags", "title", "translation", "updated",
        "url_path",
    )  # fmt: skip
    slug: str
    title: str
    summary: str
    category: str
    tags: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    contexts: tuple[str, ...]
    updated: date | None
    locale: str
    draft: bool
    path: Path | None
    mtime_ns: int
    manual: str | None
    extra: dict[str, object]
    url_path: str
    translation: bool
    body_key: str  # a digest of the body
    in_memory: Body | None  # the body, when it is not in a store
    store: BodyStore | None  # where the body is, otherwise

    def __init__(
        self,
        slug: str,
        title: str,
        summary: str = "",
        body_html: str = "",
        body_text: str = "",
        toc: tuple[Heading, ...] = (),
        category: str = "general",  # category slug
        tags: tuple[str, ...] = (),
        keywords: tuple[str, ...] = (),  # front matter `keywords` + `aliases`
        related: tuple[str, ...] = (),  # slugs
        contexts: tuple[str, ...] = (),  # host URL patterns / context keys for the widget
        updated: date | None = None,
        locale: str = "en",
        draft: bool = False,
        path: Path | None = None,
        mtime_ns: int = 0,
        manual: str | None = None,  # manual id when the article is a manual chapter
        extra: dict[str, object] | None = None,
        links: tuple[tuple[str, int], ...] = (),  # (target as written, line in the file) for `check`
        url_path: str = "",  # where it is served under the mount: /a/<slug> or /m/<id>/<version>/<chapter>
        translation: bool = False,  # a ``<stem>.<locale>.md`` version of another article (Library.translations)
        *,
        in_memory: Body | None = None,
        body_key: str | None = None,
        store: BodyStore | None = None,
    ) -> None:
        self.slug, self.title, self.summary, self.category = slug, title, summary, category
        self.tags, self.keywords, self.related, self.contexts = tags, keywords, related, contexts
        self.updated, self.locale, self.draft, self.path, self.mtime_ns = updated, locale, draft, path, mtime_ns
        self.manual, self.extra, self.url_path, self.translation = manual, extra or {}, url_path, translation
        if store is not None and body_key is not None:
            self.in_memory, self.store, self.body_key = None, store, body_key
        else:
            self.in_memory = in_memory if in_memory is not None else Body(body_html, body_text, tuple(toc), tuple(links))
            self.store, self.body_key = None, body_key_of(self.in_memory)

    @property
    def body(self) -> Body:
        if self.in_memory is not None:
            return self.in_memory
        assert self.store is not None, "an article read from the render cache is attached to its store on load"
        return self.store.get(self.body_key)

    @property
    def body_html(self) -> str:
        return self.body.html

    @property
    def body_text(self) -> str:
        return self.body.text

    @property
    def toc(self) -> tuple[Heading, ...]:
        return self.body.toc

    @property
    def links(self) -> tuple[tuple[str, int], ...]:
        return self.body.links

    def __getstate__(self) -> dict[str, object]:
        # The store is a live connection: a cached article is attached to its store on load.
        return {name: getattr(self, name) for name in self.__slots__ if name != "store"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.store = None
        for name, value in state.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"Article(slug={self.slug!r}, title={self.title!r}, locale={self.locale!r}, url_path={self.url_path!r})"


@dataclass(slots=True)
class Category:
    """A folder of articles; ``_category.yml`` may give its name, description and order."""

    slug: str
    name: str
    description: str = ""
    order: int = 1000
    slugs: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.slugs)


@dataclass(frozen=True)
class Problem:
    """Something a writer should fix; ``level`` is "error" or "warning"."""

    path: Path
    line: int
    message: str
    level: str = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.level}: {self.message}"


@dataclass(frozen=True)
class _Entry:
    """A rendered file as cached between loads: valid while stat and link targets agree."""

    stat: tuple[int, int]
    article: Article
    problems: tuple[Problem, ...]
    resolved: tuple[tuple[str, str | None], ...]  # (.md link target, slug it led to)
    translation: bool = False  # rendered as a translation (``<stem>.<locale>.md``)


@dataclass
class Library:
    """Every published article and category, in memory; built by :func:`load_library`."""

    articles: dict[str, Article] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    drafts: dict[str, Article] = field(default_factory=dict)
    chapters: dict[str, Article] = field(default_factory=dict)  # manual chapters by slug
    manuals: dict[str, dict[str, Manual]] = field(default_factory=dict)  # id → version → Manual
    translations: dict[str, dict[str, Article]] = field(default_factory=dict)  # slug → locale → Article
    sources: tuple[Path, ...] = ()
    bodies: BodyStore | None = field(default=None, repr=False)  # where article bodies live (bodies.py)
    _by_file: dict[Path, _Entry] = field(default_factory=dict, repr=False)

    def document(self, slug: str) -> Article | None:
        """An article or a manual chapter (both are search results)."""
        return self.articles.get(slug) or self.chapters.get(slug)

    def translation(self, slug: str, locale: str) -> Article | None:
        """The translation of article ``slug`` into ``locale`` (the same locale, else the same language)."""
        found = self.translations.get(slug)
        if not found:
            return None
        if locale in found:
            return found[locale]
        language = _language(locale)
        return next((a for code, a in found.items() if _language(code) == language), None)

    def localized(self, article: Article, locale: str) -> Article:
        """``article`` in ``locale`` when it is written in it or translated into it, else itself."""
        if _language(article.locale) == _language(locale):
            return article
        return self.translation(article.slug, locale) or article

    def searchable(self) -> list[Article]:
        return [*self.articles.values(), *self.chapters.values()]

    def indexable(self) -> list[Article]:
        """What the search index holds: :meth:`searchable` and every translation (each
        language version is searched in its own language, see ``search/languages.py``)."""
        published = self.translations.keys() & self.articles.keys()  # not of a draft
        return [*self.searchable(), *(a for slug in sorted(published) for a in self.translations[slug].values())]

    def sorted_categories(self) -> list[Category]:
        return sorted(
            (c for c in self.categories.values() if c.slugs), key=lambda c: (c.order, c.name.lower())
        )

    def in_category(self, slug: str) -> list[Article]:
        cat = self.categories.get(slug)
        if cat is None:
            return []
        arts = [self.articles[s] for s in cat.slugs if s in self.articles]
        return sorted(arts, key=lambda a: (_order(a), a.title.lower()))

    def recent(self, n: int = 5) -> list[Article]:
        dated = [a for a in self.articles.values() if a.updated is not None]
        return sorted(dated, key=lambda a: (a.updated or date.min, a.slug), reverse=True)[:n]

    def related(self, article: Article, n: int = 5) -> list[Article]:
        """Front matter ``related`` first, then the articles sharing most tags."""
        out = [self.articles[s] for s in article.related if s in self.articles and s != article.slug]
        if len(out) < n and article.tags:
            tags = set(article.tags)
            seen = {a.slug for a in out} | {article.slug}
            scored = [
                (len(tags.intersection(a.tags)), a.updated or date.min, a.slug, a)
                for a in self.articles.values()
                if a.slug not in seen and tags.intersection(a.tags)
            ]
            scored.sort(key=lambda t: (-t[0], t[2]))
            out.extend(t[3] for t in scored[: n - len(out)])
        return out[:n]


def _language(locale: str) -> str:
    return locale.replace("-", "_").partition("_")[0].lower()


def _order(article: Article) -> int:
    value = article.extra.get("order")
    return value if isinstance(value, int) and not isinstance(value, bool) else 1000


#: libyaml's C parser when PyYAML was built with it (about 10× faster), else the Python one.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_front_matter(source: str, path: Path) -> tuple[dict[str, Any], str, int]:
    """Split ``source`` into (front matter mapping, body, line number where the body starts)."""
    if source.startswith("\ufeff"):
        source = source[1:]
    lines = source.split("\n")
    if not lines or lines[0].rstrip() != _FENCE:
        return {}, source, 1
    for i in range(1, len(lines)):
        if lines[i].rstrip() in (_FENCE, "..."):
            raw = "\n".join(lines[1:i])
            try:
                data = yaml.load(raw, Loader=_YAML_LOADER) if raw.strip() else {}
            except yaml.YAMLError as fast_exc:
                exc = fast_exc
                try:  # the pure-Python parser points at the offending line more precisely
                    yaml.safe_load(raw)
                except yaml.YAMLError as slow_exc:
                    exc = slow_exc
                mark = getattr(exc, "problem_mark", None)
                line = (mark.line + 2) if mark is not None else 1
                problem = getattr(exc, "problem", None) or "invalid YAML"
                raise FrontMatterError(f"front matter is not valid YAML: {problem}", path, line) from None
            if not isinstance(data, dict):
                raise FrontMatterError("front matter must be a mapping of `key: value` lines", path, 2)
            return data, "\n".join(lines[i + 1 :]), i + 2
    raise FrontMatterError("front matter starts with --- but has no closing --- line", path, 1)


def _str_list(value: Any, key: str, problems: list[Problem], path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        problems.append(Problem(path, 1, f"`{key}` must be a list of words"))
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _as_date(value: Any, path: Path, problems: list[Problem]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        problems.append(Problem(path, 1, f"`updated: {value}` is not a date like 2026-10-14"))
        return None


@dataclass
class _Draft:
    """A file read and front-matter-parsed, before rendering (needed to resolve links)."""

    path: Path
    root: Path
    meta: dict[str, Any]
    body: str | None  # None: read again when rendered (see _markdown)
    body_line: int
    slug: str
    stat: tuple[int, int]
    url_path: str = ""
    manual: ManualSpec | None = None
    cached: _Entry | None = None  # the file is unchanged since this rendering: not re-read
    locale: str | None = None  # set for a translation: from its file name


def _iter_markdown(root: Path, skip: set[Path]) -> Iterable[Path]:
    """Every article file under ``root``, in path order (``os.scandir``: a tenth of the CPU
    of ``Path.rglob`` over 30,000 files). Folders and files starting with ``.`` or ``_``, the
    folders in ``skip`` (manuals) and README, LICENSE and ATTRIBUTION files are left out."""
    skipped = {os.fspath(p) for p in skip}
    found: list[str] = []
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            if e.name.startswith((".", "_")):
                continue
            if e.is_dir() and not e.is_symlink():  # as rglob: symlinked folders are not entered
                stack.append(e.path)
            elif (folder not in skipped and e.name.endswith(".md") and e.is_file()
                  and e.name.lower() not in ("readme.md", "license.md", "attribution.md")):
                found.append(e.path)
    for p in sorted(found, key=lambda p: p.split(os.sep)):  # the order of Path objects: by parts
        yield Path(p)


def _abs(path: Path) -> Path:
    """An absolute, normalised path without touching the disk (``resolve()`` costs a
    ``readlink`` per component, which dominates a warm start over thousands of files)."""
    return Path(os.path.abspath(path))


def _read(
    path: Path,
    root: Path,
    problems: list[Problem],
    manual: ManualSpec | None = None,
    old: Mapping[Path, _Entry] | None = None,
) -> _Draft | None:
    try:
        st = path.stat()
        entry = old.get(path) if old else None
        key = manual.key if manual is not None else None
        if (entry is not None and entry.stat == (st.st_mtime_ns, st.st_size) and entry.article.manual == key
                and (entry.article.in_memory is not None or entry.article.store is not None)):
            a = entry.article
            return _Draft(path, root, {}, "", 1, a.slug, entry.stat, a.url_path, manual, entry)
        if st.st_size > MAX_FILE_BYTES:
            raise ContentError(f"file is larger than {MAX_FILE_BYTES // 1_000_000} MB; split it", path)
        source = path.read_text(encoding="utf-8")
        meta, _, line = parse_front_matter(source, path)
        body = None  # not kept: all sources at once would be most of a first start's memory
    except UnicodeDecodeError:
        problems.append(Problem(path, 1, "file is not UTF-8 text"))
        return None
    except ContentError as exc:
        problems.append(Problem(path, exc.line, exc.message))
        return None
    except OSError as exc:
        problems.append(Problem(path, 1, f"cannot read file: {exc.strerror}"))
        return None
    slug = str(meta.get("slug") or path.stem).strip().lower()
    if not SLUG_RE.match(slug):
        problems.append(Problem(path, 1, f"slug {slug!r} may only use a-z, 0-9, '-', '_' and '.'"))
        return None
    if manual is not None:
        slug = f"{manual.key}/{slug}"
        return _Draft(path, root, meta, body, line, slug, (st.st_mtime_ns, st.st_size), f"/m/{slug}", manual)
    return _Draft(path, root, meta, body, line, slug, (st.st_mtime_ns, st.st_size), f"/a/{slug}")


def _load_categories(root: Path, problems: list[Problem]) -> dict[str, Category]:
    cats: dict[str, Category] = {}
    for meta_file in sorted(root.rglob("_category.yml")):
        folder = meta_file.parent.relative_to(root)
        if not folder.parts:
            continue
        slug = folder.parts[0].lower()
        try:
            data = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(meta_file, 1, f"cannot read category file: {exc}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(meta_file, 1, "category file must be a mapping (name:, description:, order:)"))
            continue
        order = data.get("order", 1000)
        cats[slug] = Category(
            slug=slug,
            name=str(data.get("name") or _humanize(slug)),
            description=str(data.get("description") or ""),
            order=order if isinstance(order, int) and not isinstance(order, bool) else 1000,
        )
    return cats


def _humanize(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").strip().capitalize() or "General"


def _render_version() -> str:
    """Changes whenever the rendering code changes, so stale cached HTML is never served."""
    h = hashlib.blake2b(digest_size=8)
    for mod in ("markup.py", "content.py", "bodies.py"):
        h.update((Path(__file__).parent / mod).read_bytes())
    return h.hexdigest()


def bodies_path(cache_file: Path) -> Path:
    """The :class:`~selfservice.bodies.BodyStore` file that goes with ``cache_file``."""
    return cache_file.with_name(f"{cache_file.stem}-bodies.sqlite3")


def _open_store(cache_file: Path | None) -> BodyStore | None:
    """The body store beside ``cache_file``; None (bodies kept in memory) if it cannot be opened."""
    if cache_file is None:
        return None
    try:
        return BodyStore(bodies_path(cache_file))
    except (OSError, sqlite3.Error) as exc:
        logging.getLogger("selfservice").warning("cannot open the body store next to %s (%s): articles stay in "
                                                 "memory", cache_file, exc)
        return None


def _read_cache(cache_file: Path | None, store: BodyStore | None) -> dict[Path, _Entry]:
    """Articles rendered by an earlier process, keyed by file; {} when absent or stale.

    The cache is a pickle in the portal's own data folder (written only by this code) of
    every article without its body (those are in ``store``, read on demand), which is
    what makes a restart with thousands of articles take well under a second. It names
    the store it was written with: a store made afresh since is a miss.
    """
    if cache_file is None or store is None or not cache_file.is_file():
        return {}
    try:
        with cache_file.open("rb") as f:
            data = pickle.load(f)
    except Exception:  # a corrupt or foreign cache is just a miss
        logging.getLogger("selfservice").warning("ignoring unreadable render cache %s", cache_file)
        return {}
    if not (isinstance(data, tuple) and len(data) == 3):  # written by an older version
        return {}
    version, store_id, items = data
    if version != _render_version() or store_id != store.id or not isinstance(items, dict):
        return {}
    for entry in items.values():
        entry.article.store = store
    return items


def _write_cache(cache_file: Path, store: BodyStore, items: dict[Path, _Entry]) -> None:
    store.keep_only(e.article.body_key for e in items.values())  # bodies first: the cache points at them
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump((_render_version(), store.id, items), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cache_file)  # atomic: other workers never read half a file


def load_library(
    paths: Sequence[Path | str],
    *,
    default_locale: str = "en",
    previous: Library | None = None,
    cache_file: Path | None = None,
) -> Library:
    """Load every article under ``paths``; problems are collected, never raised.

    A file that cannot be parsed is left out and reported in ``Library.problems``; the rest
    still load, so one bad save by a writer never takes the help centre down. Unchanged
    files reuse their rendering from ``previous`` or from ``cache_file``.
    """
    problems: list[Problem] = []
    drafts: list[_Draft] = []
    if previous is not None:
        store, old = previous.bodies, previous._by_file
    else:
        store = _open_store(cache_file)
        old = _read_cache(cache_file, store)
    categories: dict[str, Category] = {}
    specs: list[ManualSpec] = []
    roots = tuple(Path(p) for p in paths)
    for root in roots:
        categories.update({k: v for k, v in _load_categories(root, problems).items() if k not in categories})
        manual_problems: list[tuple[Path, int, str]] = []
        root_specs = find_manual_specs(root, manual_problems)
        problems.extend(Problem(p, line, msg) for p, line, msg in manual_problems)
        skip = {yml.parent for yml in root.rglob("manual.yml")}
        for spec in root_specs:
            for path in spec.chapter_files:
                d = _read(path, root, problems, spec, old)
                if d is not None:
                    drafts.append(d)
        specs.extend(root_specs)
        for path in _iter_markdown(root, skip):
            d = _read(path, root, problems, None, old)
            if d is not None:
                drafts.append(d)

    drafts, translated = _split_translations(drafts, problems, old)
    by_path: dict[str, _Draft] = {}
    by_slug: dict[str, _Draft] = {}
    for d in translated:
        by_path[os.path.abspath(d.path)] = d
    for d in drafts:
        if d.slug in by_slug:
            other = by_slug[d.slug]
            problems.append(Problem(d.path, 1, f"duplicate slug {d.slug!r}: also used by {other.path}"))
            continue
        by_slug[d.slug] = d
        by_path[os.path.abspath(d.path)] = d

    lib = Library(categories=categories, sources=roots, bodies=store)
    rendered_any = False
    for d in [*by_slug.values(), *translated]:
        entry = d.cached
        if entry is None or any(
            _resolve(d.path, target, by_path) != slug for target, slug in entry.resolved
        ):
            if entry is not None:  # a link target moved: render again, from the file
                fresh = _read(d.path, d.root, problems, d.manual)
                if fresh is None:
                    continue
                d = _Draft(fresh.path, fresh.root, fresh.meta, fresh.body, fresh.body_line, d.slug, fresh.stat,
                           d.url_path, d.manual, None, d.locale)
            start = len(problems)
            try:
                article, resolved = _build(d, by_path, default_locale, problems, store)
            except ContentError as exc:  # e.g. a body over the markup size limit
                problems.append(Problem(d.path, exc.line, exc.message))
                continue
            entry = _Entry(d.stat, article, tuple(problems[start:]), resolved, d.locale is not None)
            rendered_any = True
        else:
            problems.extend(entry.problems)
        article = entry.article
        lib._by_file[d.path] = entry
        if d.locale is not None:
            if not article.draft and article.slug in by_slug:
                lib.translations.setdefault(article.slug, {})[article.locale] = article
            continue
        if d.manual is not None:
            lib.chapters[article.slug] = article
            continue
        cat = lib.categories.get(article.category)
        if cat is None:
            cat = lib.categories[article.category] = Category(article.category, _humanize(article.category))
        if article.draft:
            lib.drafts[article.slug] = article
            continue
        lib.articles[article.slug] = article
        cat.slugs.append(article.slug)
    lib.manuals = build_manuals(specs, {d.path.resolve(): d.slug for d in by_slug.values() if d.manual})
    lib.problems = problems
    if store is not None:
        store.flush()
    if cache_file is not None and store is not None and (rendered_any or len(old) != len(lib._by_file)):
        try:
            _write_cache(cache_file, store, lib._by_file)
        except (OSError, sqlite3.Error) as exc:
            logging.getLogger("selfservice").warning("cannot write render cache %s: %s", cache_file, exc)
    return lib


def _translation_locale(stem: str) -> tuple[str, str] | None:
    """``refunds.de`` → (``refunds``, ``de``) when the suffix is a locale Babel knows, else None."""
    m = TRANSLATION_RE.match(stem)
    if m is None:
        return None
    lang, _, region = m.group("locale").replace("-", "_").partition("_")
    locale = f"{lang}_{region.upper() if len(region) == 2 else region.title()}" if region else lang
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError):
        return None
    return m.group("original"), locale


def _split_translations(
    drafts: list[_Draft], problems: list[Problem], old: Mapping[Path, _Entry]
) -> tuple[list[_Draft], list[_Draft]]:
    """(articles, translations): ``x.de.md`` is a translation when ``x.md`` is in the same folder.

    A translation takes the original's slug and URL and the locale of its file name. A
    cached rendering made in the other role (the original appeared or went away) is not
    reused: the file is read again.
    """
    originals = {(d.path.parent, d.path.stem): d for d in drafts if d.manual is None}
    articles: list[_Draft] = []
    translated: list[_Draft] = []
    seen: dict[tuple[str, str], Path] = {}
    for d in drafts:
        found = _translation_locale(d.path.stem) if d.manual is None else None
        original = originals.get((d.path.parent, found[0])) if found else None
        if found is None or original is None or _translation_locale(original.path.stem) is not None:
            if d.cached is not None and d.cached.translation:
                d = _read(d.path, d.root, problems) or d
            if found is not None and original is None and d.slug == d.path.stem.lower():
                problems.append(Problem(
                    d.path, 1, f"named like a translation ({found[1]}) but there is no {found[0]}.md next to it: "
                    f"published as its own article {d.slug!r}", "warning"))
            articles.append(d)
            continue
        locale = found[1]
        if (original.slug, locale) in seen:
            problems.append(Problem(d.path, 1, f"a second {locale} translation of {original.slug!r}: "
                                               f"also {seen[original.slug, locale]}"))
            continue
        seen[original.slug, locale] = d.path
        cached = d.cached
        if cached is not None and (not cached.translation or cached.article.slug != original.slug
                                   or cached.article.locale != locale):
            d = _read(d.path, d.root, problems) or d
            cached = d.cached = None
        meta_locale = d.meta.get("locale")
        if cached is None and meta_locale and _language(str(meta_locale)) != _language(locale):
            problems.append(Problem(d.path, 1, f"`locale: {meta_locale}` disagrees with the file name; "
                                               f"the file name wins ({locale})", "warning"))
        d.slug, d.url_path, d.locale = original.slug, original.url_path, locale
        translated.append(d)
    return articles, translated


def _resolve(source: Path, target: str, by_path: dict[str, _Draft]) -> str | None:
    """Where a relative link leads under the mount (``/a/<slug>``, a chapter, a manual file), or None."""
    path_part = target.partition("#")[0].partition("?")[0]
    if not path_part or "://" in path_part or path_part.startswith(("/", "mailto:", "tel:")):
        return None
    dest = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(source)), path_part))
    if path_part.endswith(".md"):
        found = by_path.get(dest)
        return found.url_path if found is not None else None
    here = by_path.get(os.path.abspath(source))
    dest_path = Path(dest)
    if here is not None and here.manual is not None and dest_path.suffix.lower() in ATTACHMENT_TYPES:
        folder = _abs(here.manual.folder)
        if dest_path.is_file() and folder in dest_path.parents:
            return f"/m/{here.manual.key}/files/{dest_path.relative_to(folder).as_posix()}"
    return None


def _markdown(d: _Draft) -> str:
    """The markdown body of ``d``'s file, after the front matter read by :func:`_read`."""
    try:
        source = d.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(f"cannot read file: {exc}", d.path) from None
    return "\n".join(source.removeprefix("\ufeff").split("\n")[d.body_line - 1 :])


def _build(
    d: _Draft, by_path: dict[str, _Draft], default_locale: str, problems: list[Problem], store: BodyStore | None
) -> tuple[Article, tuple[tuple[str, str | None], ...]]:
    meta = d.meta
    for key in meta:
        if key not in KNOWN_KEYS:
            problems.append(Problem(d.path, 1, f"unknown front matter key {key!r} (ignored)", "warning"))
    resolved: dict[str, str | None] = {}

    def resolve(target: str) -> str | None:
        frag = target.partition("#")[2]
        url_path = resolved[target] = _resolve(d.path, target, by_path)
        if url_path is None:
            return None
        return ROOT_MARKER + url_path + (f"#{frag}" if frag else "")

    rendered = render(d.body if d.body is not None else _markdown(d), resolve_link=resolve)
    title = meta.get("title")
    if not isinstance(title, (str, int, float)) or not str(title).strip():
        title = rendered.title
        if not title:
            problems.append(Problem(d.path, 1, "missing `title:` in front matter"))
            title = _humanize(d.slug)
    summary = meta.get("summary") or meta.get("description") or ""
    rel = d.path.relative_to(d.root).parts
    default_category = d.manual.id if d.manual else (rel[0] if len(rel) > 1 else "general")
    category = str(meta.get("category") or default_category).strip().lower()
    category = re.sub(r"[^a-z0-9_-]+", "-", category).strip("-") or "general"
    locale = d.locale or str(meta.get("locale") or default_locale)
    extra = {k: v for k, v in meta.items() if k not in KNOWN_KEYS or k in ("source", "order")}
    links = tuple((target, line + d.body_line - 1) for target, line in rendered.links)
    body = Body(rendered.html, rendered.text, rendered.toc, links)
    article = Article(
        slug=d.slug,
        title=str(title).strip(),
        summary=" ".join(str(summary).split()),
        category=category,
        tags=_str_list(meta.get("tags"), "tags", problems, d.path),
        keywords=_str_list(meta.get("keywords"), "keywords", problems, d.path)
        + _str_list(meta.get("aliases"), "aliases", problems, d.path),
        related=tuple(s.lower() for s in _str_list(meta.get("related"), "related", problems, d.path)),
        contexts=_str_list(meta.get("contexts"), "contexts", problems, d.path),
        updated=_as_date(meta.get("updated"), d.path, problems),
        locale=locale,
        draft=bool(meta.get("draft", False)),
        path=d.path,
        mtime_ns=d.stat[0],
        extra=extra,
        url_path=d.url_path,
        manual=d.manual.key if d.manual else None,
        translation=d.locale is not None,
        in_memory=None if store is not None else body,
        body_key=store.add(body) if store is not None else None,
        store=store,
    )
    return article, tuple(resolved.items())
