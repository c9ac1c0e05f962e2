"""The one typed settings object, validated when the portal is built.

A host builds a :class:`Settings` and passes it to :func:`selfservice.create_portal`.
Nothing is read from the environment or from global state; the CLI maps its flags onto
the same fields. :meth:`Settings.validate` raises :class:`~selfservice.errors.SettingsError`
naming the first bad field.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from .errors import SettingsError

__all__ = ["Settings", "demo_content_dir"]

_LOCALE_RE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?$")
_CSS_VAR_RE = re.compile(r"^--[a-z0-9-]{1,60}$")
_CSS_VALUE_RE = re.compile(r"^[^;{}<>\\]{1,200}$")


def demo_content_dir() -> Path:
    """The bundled demo articles: package data in a wheel, ``kb_articles/`` in a checkout."""
    packaged = Path(__file__).parent / "demo_content"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "kb_articles"


@dataclass
class Settings:
    """Everything a portal needs to know; every field has a safe default except ``secret_key``.

    ``secret_key`` may be one string or a sequence (newest first) so keys can be rotated:
    signatures are made with the first and accepted with any.
    """

    content_dirs: Sequence[Path | str] = ()
    site_name: str = "Help Centre"
    base_url: str | None = None
    theme: str = "default"
    theme_variables: Mapping[str, str] = field(default_factory=dict)
    template_dirs: Sequence[Path | str] = ()
    secret_key: str | Sequence[str] | None = None
    debug: bool = False
    demo: bool = False
    data_dir: Path | str = Path(".selfservice")
    database_url: str | None = None
    index_dir: Path | str | None = None
    locale: str = "en"
    page_size: int = 10
    search_time_limit: float = 0.4
    max_query_terms: int = 32
    max_query_length: int = 512
    html_max_age: int = 60
    static_max_age: int = 31_536_000
    max_body_bytes: int = 1_048_576
    allowed_origins: Sequence[str] = ()
    watch: bool = False

    def __post_init__(self) -> None:
        # Coerce friendly inputs (str paths, a single path) into their typed forms.
        if isinstance(self.content_dirs, (str, Path)):
            self.content_dirs = (self.content_dirs,)
        self.content_dirs = tuple(Path(p) for p in self.content_dirs)
        if isinstance(self.template_dirs, (str, Path)):
            self.template_dirs = (self.template_dirs,)
        self.template_dirs = tuple(Path(p) for p in self.template_dirs)
        self.data_dir = Path(self.data_dir)
        if self.index_dir is not None:
            self.index_dir = Path(self.index_dir)
        if isinstance(self.allowed_origins, str):
            self.allowed_origins = (self.allowed_origins,)
        self.allowed_origins = tuple(self.allowed_origins)
        self.theme_variables = dict(self.theme_variables)

    # -- derived values -------------------------------------------------------------------
    @property
    def content_paths(self) -> tuple[Path, ...]:
        """Content folders to load; the bundled demo articles when none are given in demo mode."""
        dirs = tuple(Path(p) for p in self.content_dirs)
        return dirs or (demo_content_dir(),)

    @property
    def index_path(self) -> Path:
        return Path(self.index_dir) if self.index_dir is not None else Path(self.data_dir) / "index"

    @property
    def render_cache_path(self) -> Path:
        return Path(self.data_dir) / "render-cache.pickle"

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{Path(self.data_dir) / 'selfservice.sqlite3'}"

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """Signing keys, newest first. Debug/demo without a key gets a random per-process key."""
        key = self.secret_key
        if key is None:
            if not hasattr(self, "_ephemeral_key"):
                object.__setattr__(self, "_ephemeral_key", secrets.token_urlsafe(32))
            return (getattr(self, "_ephemeral_key"),)
        return (key,) if isinstance(key, str) else tuple(key)

    # -- validation -----------------------------------------------------------------------
    def validate(self) -> Settings:
        """Check every field; raise :class:`SettingsError` naming the first bad one."""
        for p in self.content_paths:
            if not p.is_dir():
                raise SettingsError("content_dirs", f"{p} is not a folder; create it or fix the path")
        for p in self.template_dirs:
            if not Path(p).is_dir():
                raise SettingsError("template_dirs", f"{p} is not a folder")
        if not self.site_name or not self.site_name.strip():
            raise SettingsError("site_name", "must not be empty")
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    "base_url", f"{self.base_url!r} must be an absolute http(s) URL such as https://example.com/help"
                )
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.theme or "") and not Path(self.theme).is_dir():
            raise SettingsError("theme", f"{self.theme!r} is neither a theme name nor a folder")
        for name, value in self.theme_variables.items():
            if not _CSS_VAR_RE.match(name) or not _CSS_VALUE_RE.match(str(value)):
                raise SettingsError("theme_variables", f"{name}: {value!r} is not a CSS custom property and value")
        if self.secret_key is None:
            if not (self.debug or self.demo):
                raise SettingsError("secret_key", "is required in production; pass a long random string")
        else:
            keys = self.secret_keys
            if not keys or any(not isinstance(k, str) or len(k) < 16 for k in keys):
                raise SettingsError("secret_key", "each key must be a string of at least 16 characters")
        if self.database_url is not None and "://" not in self.database_url:
            raise SettingsError("database_url", f"{self.database_url!r} is not a database URL")
        if not _LOCALE_RE.match(self.locale or ""):
            raise SettingsError("locale", f"{self.locale!r} is not a locale such as 'en' or 'de_CH'")
        for name, lo, hi in (
            ("page_size", 1, 100),
            ("max_query_terms", 1, 256),
            ("max_query_length", 16, 10_000),
            ("html_max_age", 0, 31_536_000),
            ("static_max_age", 0, 31_536_000),
            ("max_body_bytes", 1024, 100 * 1_048_576),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise SettingsError(name, f"must be a whole number from {lo} to {hi}, not {value!r}")
        if not isinstance(self.search_time_limit, (int, float)) or not 0.01 <= self.search_time_limit <= 30:
            raise SettingsError("search_time_limit", "must be between 0.01 and 30 seconds")
        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise SettingsError("allowed_origins", f"{origin!r} must be an origin like https://shop.example")
        return self

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
