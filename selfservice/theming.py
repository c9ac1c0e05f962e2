"""Themes and the static files they serve: finding a theme, CSS variables, fingerprinted assets.

A theme is a folder with a ``theme.yml`` and optional ``templates/`` and ``static/``
subfolders (the MkDocs Material model: most themes only set CSS custom properties, a few
override a template block). :func:`load_theme` finds one by name — ``"default"`` is built
in, others are installed packages that declare a ``selfservice.themes`` entry point — or
by folder path. ``theme.yml``::

    name: harbour                 # optional; default: the folder's name
    description: Navy and sand.
    parent: default               # optional; a theme whose templates/static fill the gaps
    variables:                    # optional; CSS custom properties, host values win
      --ss-accent: "#0b5fff"
      --ss-accent-dark: "#8ab4ff"   # a -dark suffix applies under prefers-color-scheme: dark

:class:`StaticAssets` is the ASGI app behind ``/static``. Every file is fingerprinted with
a hash of its bytes (``portal.css`` → ``portal.3f2a1c9b.css``) so it can be cached for a
year as ``immutable``: a changed file gets a new URL. The files are small, so they are kept
in memory with their gzipped form; only names in the manifest are served, which rules out
path traversal by construction. Host and theme CSS variables are served as a generated
stylesheet (``theme-vars.css``) because the Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import mimetypes
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml
from starlette.types import Receive, Scope, Send

from .errors import SettingsError, TemplateError

__all__ = ["Asset", "StaticAssets", "Theme", "known_themes", "load_theme", "stylesheets", "variables_css"]

ENTRY_POINT_GROUP = "selfservice.themes"
PACKAGE_DIR = Path(__file__).resolve().parent
#: Stylesheets generated from code rather than read from a folder.
GENERATED_CSS = ("code.css", "theme-vars.css")
_DARK_SUFFIX = "-dark"
_CSS_VAR_RE = re.compile(r"^--[a-z0-9-]{1,60}$")
_CSS_VALUE_RE = re.compile(r"^[^;{}<>\\]{1,200}$")
_HASH_CHARS = 8
_MIN_GZIP = 512  # bytes; smaller files are sent as they are
_COMPRESSIBLE = ("text/", "image/svg+xml", "application/json", "application/manifest+json")
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Theme:
    """A theme folder as loaded: where its templates and static files are, and its parent.

    ``templates_dir`` and ``static_dir`` are None when the folder has no such subfolder.
    The built-in ``default`` theme is the package itself (``selfservice/templates``,
    ``selfservice/static``), which every lookup falls back to anyway.
    """

    name: str
    path: Path
    parent: Theme | None = None
    description: str = ""
    static_dir: Path | None = None
    templates_dir: Path | None = None
    variables: Mapping[str, str] = field(default_factory=dict)

    @property
    def chain(self) -> tuple[Theme, ...]:
        """This theme, then its parent, grandparent...: the order its folders are searched."""
        out: list[Theme] = []
        theme: Theme | None = self
        while theme is not None:
            out.append(theme)
            theme = theme.parent
        return tuple(out)

    @property
    def is_default(self) -> bool:
        return self.path == PACKAGE_DIR

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        """Template folders of the chain, child first, without the package default."""
        return tuple(t.templates_dir for t in self.chain if t.templates_dir is not None and not t.is_default)

    @property
    def static_dirs(self) -> tuple[Path, ...]:
        """Static folders of the chain, child first, without the package default."""
        return tuple(t.static_dir for t in self.chain if t.static_dir is not None and not t.is_default)

    @property
    def all_variables(self) -> dict[str, str]:
        """CSS variables of the chain merged, the child's winning over its parents'."""
        merged: dict[str, str] = {}
        for theme in reversed(self.chain):
            merged.update(theme.variables)
        return merged


def default_theme() -> Theme:
    """The built-in theme: the package's own ``templates/`` and ``static/``."""
    return Theme(
        name="default",
        path=PACKAGE_DIR,
        description="The built-in selfservice theme.",
        static_dir=PACKAGE_DIR / "static",
        templates_dir=PACKAGE_DIR / "templates",
    )


def _installed() -> dict[str, str]:
    """Installed themes: entry point name → the importable package it names."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_themes() -> list[str]:
    """Every theme name :func:`load_theme` accepts, for error messages and the CLI."""
    return sorted({"default", *_installed()})


def load_theme(name_or_path: str) -> Theme:
    """The theme called ``name_or_path``, or the theme folder at that path.

    Raises :class:`~selfservice.errors.SettingsError` (field ``theme``) naming the known
    themes when there is no such theme, or when its ``theme.yml`` is unusable.
    """
    return _load(str(name_or_path), ())


def _load(name_or_path: str, seen: tuple[str, ...]) -> Theme:
    if name_or_path in seen:
        raise SettingsError("theme", f"themes {' → '.join((*seen, name_or_path))} name each other as parent")
    seen = (*seen, name_or_path)
    if name_or_path == "default":
        return default_theme()
    installed = _installed()
    looks_like_path = any(sep in name_or_path for sep in ("/", "\\")) or name_or_path.startswith(".")
    if name_or_path in installed and not looks_like_path:
        return _from_folder(_package_folder(name_or_path, installed[name_or_path]), seen, name_or_path)
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return _from_folder(folder, seen, None)
    raise SettingsError(
        "theme",
        f"{name_or_path!r} is not an installed theme or a folder with theme.yml; "
        f"known themes: {', '.join(known_themes())}",
    )


def _package_folder(name: str, value: str) -> Path:
    """The folder of the package an entry point names (``value`` may be ``pkg`` or ``pkg:attr``)."""
    module_name = value.partition(":")[0].strip()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SettingsError("theme", f"theme {name!r} names package {module_name!r}, which cannot be imported: {exc}") from exc
    locations = list(getattr(module, "__path__", ()))
    if locations:
        return Path(locations[0])
    file = getattr(module, "__file__", None)
    if file is None:  # pragma: no cover - a namespace package without a location
        raise SettingsError("theme", f"theme {name!r}: package {module_name!r} has no folder")
    return Path(file).parent


def _from_folder(folder: Path, seen: tuple[str, ...], name: str | None) -> Theme:
    folder = folder.resolve()
    yml = folder / "theme.yml"
    if not yml.is_file():
        raise SettingsError("theme", f"{folder} has no theme.yml; add one (it may be empty) to make it a theme")
    try:
        data: Any = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise SettingsError("theme", f"{yml} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError("theme", f"{yml} must be a mapping (name:, description:, parent:, variables:)")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise SettingsError("theme", f"{yml}: `variables:` must map CSS custom properties to values")
    variables = {str(k): str(v) for k, v in variables.items()}
    for key, value in variables.items():
        if not _CSS_VAR_RE.match(key) or not _CSS_VALUE_RE.match(value):
            raise SettingsError("theme", f"{yml}: {key}: {value!r} is not a CSS custom property and value")
    parent_name = data.get("parent")
    parent = _load(str(parent_name), seen) if parent_name else None
    templates, static = folder / "templates", folder / "static"
    return Theme(
        name=str(data.get("name") or name or folder.name),
        path=folder,
        parent=parent,
        description=" ".join(str(data.get("description") or "").split()),
        static_dir=static if static.is_dir() else None,
        templates_dir=templates if templates.is_dir() else None,
        variables=variables,
    )


# --- stylesheets -----------------------------------------------------------------------------


def _code_css() -> str | None:
    """Pygments rules from :mod:`selfservice.markup`, or None if it offers none."""
    try:
        from . import markup
    except ImportError:  # pragma: no cover - markup is part of the package
        return None
    make = getattr(markup, "pygments_css", None)
    return str(make()) if callable(make) else None


def variables_css(variables: Mapping[str, str]) -> str:
    """``:root{...}`` for ``variables``; a name ending in ``-dark`` sets its base name in dark mode."""
    light = {k: v for k, v in variables.items() if not k.endswith(_DARK_SUFFIX)}
    dark = {k[: -len(_DARK_SUFFIX)]: v for k, v in variables.items() if k.endswith(_DARK_SUFFIX)}
    for key, value in variables.items():
        if not _CSS_VAR_RE.match(key) or not _CSS_VALUE_RE.match(str(value)):
            raise SettingsError("theme_variables", f"{key}: {value!r} is not a CSS custom property and value")
    out = []
    if light:
        out.append(":root{" + "".join(f"{k}:{v};" for k, v in light.items()) + "}\n")
    if dark:
        body = "".join(f"{k}:{v};" for k, v in dark.items())
        out.append("@media (prefers-color-scheme:dark){:root{" + body + "}}\n")
    return "".join(out)


def _theme_files(theme: Theme) -> dict[str, Path]:
    """Logical name → file: the package's static files, overridden by the chain's, child last."""
    found: dict[str, Path] = {}
    dirs = [PACKAGE_DIR / "static", *reversed(theme.static_dirs)]
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not any(part.startswith((".", "_")) for part in rel.parts):
                found[rel.as_posix()] = path
    return found


def stylesheets(theme: Theme, variables: Mapping[str, str]) -> tuple[str, ...]:
    """The stylesheets every page links, in cascade order; host variables come last to win.

    ``portal.css`` (layout and components), ``code.css`` (highlighted code, when markup
    provides it), ``theme.css`` (when a theme ships one) and ``theme-vars.css`` (when the
    theme or the host set CSS variables).
    """
    names = ["portal.css", "accounts.css", "forms.css"]
    if _code_css() is not None:
        names.append("code.css")
    if any((folder / "theme.css").is_file() for folder in theme.static_dirs):
        names.append("theme.css")
    if theme.all_variables or variables:
        names.append("theme-vars.css")
    return tuple(names)


# --- serving ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file held in memory, ready to send."""

    name: str  # logical name: portal.css
    url_name: str  # fingerprinted: portal.3f2a1c9b.css
    body: bytes
    gzipped: bytes | None
    etag: str
    media_type: str


def _fingerprint(name: str, digest: str) -> str:
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    fingerprinted = f"{stem}.{digest}{dot}{ext}" if dot else f"{base}.{digest}"
    return f"{folder}/{fingerprinted}" if folder else fingerprinted


def _media_type(name: str) -> str:
    suffix = "." + name.rpartition(".")[2].lower() if "." in name else ""
    return _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _make_asset(name: str, body: bytes) -> Asset:
    digest = hashlib.sha256(body).hexdigest()
    media_type = _media_type(name)
    gz = None
    if len(body) >= _MIN_GZIP and media_type.startswith(_COMPRESSIBLE):
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gz = packed if len(packed) < len(body) else None
    return Asset(name, _fingerprint(name, digest[:_HASH_CHARS]), body, gz, f'"{digest[:24]}"', media_type)


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class StaticAssets:
    """The portal's static files, fingerprinted and in memory; an ASGI app for ``/static``.

    Built once at start-up from the package's ``static/`` folder, the theme chain's
    ``static/`` folders (same name overrides, the child theme winning) and the generated
    ``code.css`` and ``theme-vars.css``. Serves ``/<fingerprinted name>`` when mounted (the
    portal mounts it at ``/static``) and also ``/static/<fingerprinted name>`` when called
    directly; anything else is 404.
    """

    def __init__(
        self, theme: Theme, extra_css_variables: Mapping[str, str] | None = None, *, max_age: int = 31_536_000
    ) -> None:
        self.theme = theme
        self.max_age = max_age
        variables = {**theme.all_variables, **dict(extra_css_variables or {})}
        sources: dict[str, bytes] = {name: path.read_bytes() for name, path in _theme_files(theme).items()}
        for name in GENERATED_CSS:  # generated files are never read from a folder
            sources.pop(name, None)
        code = _code_css()
        if code is not None:
            sources["code.css"] = code.encode("utf-8")
        if variables:
            sources["theme-vars.css"] = variables_css(variables).encode("utf-8")
        self.stylesheets = stylesheets(theme, dict(extra_css_variables or {}))
        self._by_name: dict[str, Asset] = {}
        self._by_url: dict[str, Asset] = {}
        for name, body in sources.items():
            asset = _make_asset(name, body)
            self._by_name[name] = asset
            self._by_url[asset.url_name] = asset
        self._cache_control = f"public, max-age={max_age}, immutable".encode()

    @property
    def manifest(self) -> dict[str, str]:
        """Logical name → fingerprinted name, e.g. ``{"portal.css": "portal.3f2a1c9b.css"}``."""
        return {name: asset.url_name for name, asset in sorted(self._by_name.items())}

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Asset]:
        return iter(self._by_name.values())

    def get(self, name: str) -> Asset | None:
        """The asset with logical name ``name``, or None."""
        return self._by_name.get(name)

    def asset_url(self, name: str) -> str:
        """``static/<fingerprinted name>``; the view puts the mount's root in front of it."""
        asset = self._by_name.get(name)
        if asset is None:
            raise TemplateError(
                f"there is no static file {name!r}; files: {', '.join(sorted(self._by_name)) or 'none'}. "
                "Put it in your theme's static/ folder."
            )
        return f"static/{asset.url_name}"

    def _lookup(self, scope: Scope) -> Asset | None:
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :]
        key = path.lstrip("/")
        asset = self._by_url.get(key)
        if asset is None and key.startswith("static/"):
            asset = self._by_url.get(key[len("static/") :])
        return asset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # pragma: no cover - mounted for HTTP only
            return
        method = scope.get("method", "GET")
        asset = self._lookup(scope)
        if asset is None:
            await _send(send, 404, [(b"content-type", b"text/plain; charset=utf-8")], b"Not Found", method)
            return
        if method not in ("GET", "HEAD"):
            headers = [(b"allow", b"GET, HEAD"), (b"content-type", b"text/plain; charset=utf-8")]
            await _send(send, 405, headers, b"Method Not Allowed", method)
            return
        request_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        common = [
            (b"cache-control", self._cache_control),
            (b"etag", asset.etag.encode()),
            (b"vary", b"Accept-Encoding"),
            (b"x-content-type-options", b"nosniff"),
        ]
        if _etag_matches(request_headers.get("if-none-match", ""), asset.etag):
            await _send(send, 304, common, b"", method)
            return
        body = asset.body
        headers = [*common, (b"content-type", asset.media_type.encode())]
        if asset.gzipped is not None and _accepts_gzip(request_headers.get("accept-encoding", "")):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        await _send(send, 200, headers, body, method)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str) -> None:
    if status != 304:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" or status == 304 else body})
