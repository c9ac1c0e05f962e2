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
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from .errors import SettingsError
from .i18n import N_

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from starlette.requests import Request

    from .accounts.actions import AccountAction
    from .accounts.backend import AccountBackend
    from .hours import BusinessHours
    from .mail import Mailer
    from .search.rerank import Reranker

__all__ = ["Settings", "demo_content_dir"]

_LOCALE_RE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?$")
_CSS_VAR_RE = re.compile(r"^--[a-z0-9-]{1,60}$")
_CSS_VALUE_RE = re.compile(r"^[^;{}<>\\]{1,200}$")
_ADDRESS_RE = re.compile(r"^[^@\s<>,;]{1,64}@[^@\s<>,;]{1,255}$")
_TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RATE_RE = re.compile(r"^\s*\d{1,9}\s*(/|per)\s*(\d{1,6}\s*)?(second|minute|hour|day|month|year)s?\s*$")

# English labels, translated where they are shown (the catalog has these; a host's own
# labels are shown as written unless the catalog has them too).
DEFAULT_TOPICS: Mapping[str, str] = {
    "order": N_("An order or delivery"),
    "billing": N_("Billing and payments"),
    "account": N_("My account"),
    "product": N_("A product or service"),
    "other": N_("Something else"),
}


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
    locales: Sequence[str] = field(default_factory=lambda: ["en", "de"])
    page_size: int = 10
    search_time_limit: float = 0.4
    max_query_terms: int = 32
    max_query_length: int = 512
    search_reranker: Reranker | Literal["semantic"] | None = None
    html_max_age: int = 60
    static_max_age: int = 31_536_000
    max_body_bytes: int = 1_048_576
    body_timeout: float = 10.0
    allowed_origins: Sequence[str] = ()
    watch: bool = False
    # -- customer input: feedback, requests, mail, events (see docs/feedback.md) --
    mail_from: str = "Help Centre <help@localhost>"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: str = "starttls"
    smtp_timeout: float = 30.0
    staff_email: str | None = None
    request_topics: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TOPICS))
    contact_target_days: int = 3
    complaint_target_days: int = 10
    reopen_days: int = 14
    feedback_retention_days: int | None = 730
    search_retention_days: int | None = 365
    webhook_url: str | None = None
    webhook_secret: str | None = None
    outbox_max_attempts: int = 10
    rate_limit_feedback: str | None = "60/minute"
    rate_limit_requests: str | None = "10/hour"
    rate_limit_email: str | None = "5/hour"
    rate_limit_lookup: str | None = "20/minute"
    mailer: Mailer | None = None
    plugins: Sequence[object] = ()
    # -- accounts and opening hours (see docs/accounts.md) --
    account_backend: AccountBackend | None = None
    account_actions: Sequence[AccountAction] = ()
    account_token_max_age: int = 3600
    password_min_length: int = 10
    payment_url: str | None = None
    rate_limit_account: str | None = "30/hour"
    rate_limit_sign_in: str | None = "10/15 minutes"
    business_hours: BusinessHours | Mapping[str, object] | None = None
    clock: Callable[[], datetime] | None = None
    # -- staff area: inbox and insights (see docs/staff.md) --
    is_staff: Callable[[Request], bool | Awaitable[bool]] | None = None

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
        self.request_topics = dict(self.request_topics)
        self.plugins = tuple(self.plugins)
        if isinstance(self.locales, str):
            self.locales = (self.locales,)
        self.locales = tuple(self.locales)

    # -- derived values -------------------------------------------------------------------
    @property
    def content_paths(self) -> tuple[Path, ...]:
        """Content folders to load; the bundled demo articles when none are given in demo mode."""
        dirs = tuple(Path(p) for p in self.content_dirs)
        return dirs or (demo_content_dir(),)

    @property
    def supported_locales(self) -> tuple[str, ...]:
        """The interface languages, default first: ``locale``, then ``locales`` in another language.

        ``locale="en_GB"`` with ``locales=["en", "de"]`` gives ``("en_GB", "de")``: one
        English, the site's own. See :mod:`selfservice.i18n` for how a request picks one.
        """
        from .i18n import same_language

        out = [self.locale]
        for code in self.locales:
            if not any(same_language(code, known) for known in out):
                out.append(code)
        return tuple(out)

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
        for folder in self.template_dirs:
            if not Path(folder).is_dir():
                raise SettingsError("template_dirs", f"{folder} is not a folder")
        if not self.site_name or not self.site_name.strip():
            raise SettingsError("site_name", "must not be empty")
        if self.base_url is not None:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    "base_url", f"{self.base_url!r} must be an absolute http(s) URL such as https://example.com/help"
                )
        if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}", self.theme or "") and not (
            Path(self.theme) / "theme.yml"
        ).is_file():
            raise SettingsError("theme", f"{self.theme!r} is neither a theme name nor a folder with a theme.yml")
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
        self._validate_locales()
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
        if isinstance(self.body_timeout, bool) or not isinstance(self.body_timeout, (int, float)) or not 0.1 <= self.body_timeout <= 300:
            raise SettingsError("body_timeout", "must be between 0.1 and 300 seconds")
        for origin in self.allowed_origins:
            parts = urlsplit(origin)
            if origin == "*" or parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise SettingsError("allowed_origins", f"{origin!r} must be an origin like https://shop.example")
        self._validate_customer_input()
        self._validate_accounts()
        return self

    def _validate_locales(self) -> None:
        """``locales``: known locales, each with an interface catalog (docs/i18n.md)."""
        from babel import Locale, UnknownLocaleError

        from .i18n import catalog_locales, has_catalog

        for code in self.locales:
            if not isinstance(code, str) or not _LOCALE_RE.match(code):
                raise SettingsError("locales", f"{code!r} is not a locale such as 'en' or 'de_CH'")
            try:
                Locale.parse(code.replace("-", "_"))
            except (UnknownLocaleError, ValueError):
                raise SettingsError("locales", f"{code!r} is not a locale Babel knows") from None
            if not has_catalog(code):
                have = ", ".join(["en", *catalog_locales()])
                raise SettingsError("locales", f"there is no interface catalog for {code!r}; "
                                               f"the portal speaks {have} (docs/i18n.md: adding a language)")

    def _validate_accounts(self) -> None:
        """The account and opening-hours fields (docs/accounts.md)."""
        from .hours import parse_business_hours

        backend = self.account_backend
        if backend is not None:
            missing = [m for m in ("get_by_id", "get_by_email", "check_password", "current_user", "orders")
                       if not callable(getattr(backend, m, None))]
            if missing or not hasattr(backend, "login_url"):
                raise SettingsError("account_backend", f"{backend!r} lacks {', '.join(missing) or 'login_url'}; "
                                                       "see selfservice.accounts.AccountBackend")
            if self.base_url is None and not (self.debug or self.demo):
                raise SettingsError("base_url", "is required with an account_backend: links in account emails "
                                                "are built from it, never from the request's Host header")
        for action in self.account_actions:
            if not all(hasattr(action, a) for a in ("slug", "title", "routes", "menu_route")):
                raise SettingsError("account_actions", f"{action!r} is not a selfservice.accounts.AccountAction")
        for name, lo, hi in (("account_token_max_age", 300, 7 * 86400), ("password_min_length", 8, 128)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise SettingsError(name, f"must be a whole number from {lo} to {hi}, not {value!r}")
        if self.payment_url is not None:
            parts = urlsplit(self.payment_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError("payment_url", f"{self.payment_url!r} must be an absolute http(s) URL "
                                                   "of your payment page")
        for name in ("rate_limit_account", "rate_limit_sign_in"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _RATE_RE.match(value)):
                raise SettingsError(name, f"{value!r} is not a rate such as '10/minute' or '5 per hour' (None: no limit)")
        if self.business_hours is not None:
            parse_business_hours(self.business_hours)  # raises SettingsError("business_hours", ...)
        if self.clock is not None and not callable(self.clock):
            raise SettingsError("clock", "must be a function returning the current aware datetime")
        if self.is_staff is not None and not callable(self.is_staff):
            raise SettingsError("is_staff", "must be a function is_staff(request) -> bool (it may be async)")

    def _validate_customer_input(self) -> None:
        """The feedback, request, mail and webhook fields (docs/feedback.md)."""
        from email.utils import parseaddr

        for name in ("mail_from", "staff_email"):
            value = getattr(self, name)
            if value is None and name == "staff_email":
                continue
            address = parseaddr(value)[1] if isinstance(value, str) and "\n" not in value and "\r" not in value else ""
            if not _ADDRESS_RE.match(address):
                raise SettingsError(name, f"{value!r} is not an email address such as 'Help <help@example.com>'")
        if self.search_reranker == "semantic":  # by name, as the CLI's --semantic and JSON settings give it
            from .errors import SearchError
            from .search.semantic import model_files

            try:
                model_files()
            except SearchError as e:
                raise SettingsError("search_reranker", str(e)) from None
        elif self.search_reranker is not None:
            r = self.search_reranker
            if not callable(getattr(r, "similarities", None)):
                raise SettingsError("search_reranker", f"{r!r} has no similarities(query, titles) method; "
                                    "see selfservice.search.rerank.Reranker")  # fmt: skip
            depth, weight = getattr(r, "depth", None), getattr(r, "weight", None)
            if not isinstance(depth, int) or depth < 1 or not isinstance(weight, (int, float)) or weight < 0:
                raise SettingsError("search_reranker", "needs an int depth ≥ 1 and a weight ≥ 0 "
                                    f"(got depth={depth!r}, weight={weight!r})")  # fmt: skip
        if self.mailer is not None and not callable(getattr(self.mailer, "send", None)):
            raise SettingsError("mailer", f"{self.mailer!r} has no send(message) method; see selfservice.mail.Mailer")
        if self.smtp_host is not None and not re.fullmatch(r"[A-Za-z0-9_.:\[\]-]{1,253}", self.smtp_host):
            raise SettingsError("smtp_host", f"{self.smtp_host!r} is not a host name")
        if self.smtp_tls not in ("starttls", "tls", "none"):
            raise SettingsError("smtp_tls", f"must be 'starttls', 'tls' (implicit TLS, port 465) or 'none', not {self.smtp_tls!r}")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise SettingsError("smtp_password" if self.smtp_username else "smtp_username",
                                "set both smtp_username and smtp_password, or neither")
        if not isinstance(self.smtp_timeout, (int, float)) or isinstance(self.smtp_timeout, bool) or not 1 <= self.smtp_timeout <= 300:
            raise SettingsError("smtp_timeout", "must be between 1 and 300 seconds")
        if not self.request_topics:
            raise SettingsError("request_topics", "needs at least one topic, e.g. {'other': 'Something else'}")
        for key, label in self.request_topics.items():
            if not isinstance(key, str) or not _TOPIC_RE.match(key) or not isinstance(label, str) or not label.strip():
                raise SettingsError("request_topics", f"{key!r}: {label!r} must map a short lower-case key to a label")
        numbers: list[tuple[str, int, int]] = [
            ("smtp_port", 1, 65535), ("contact_target_days", 1, 365), ("complaint_target_days", 1, 365),
            ("reopen_days", 0, 365), ("outbox_max_attempts", 1, 100),
        ]
        if self.feedback_retention_days is not None:
            numbers.append(("feedback_retention_days", 1, 36_500))
        if self.search_retention_days is not None:
            numbers.append(("search_retention_days", 1, 36_500))
        for name, lo, hi in numbers:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise SettingsError(name, f"must be a whole number from {lo} to {hi}, not {value!r}")
        if self.webhook_url is not None:
            parts = urlsplit(self.webhook_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError("webhook_url", f"{self.webhook_url!r} must be an absolute http(s) URL")
            if not isinstance(self.webhook_secret, str) or len(self.webhook_secret) < 16:
                raise SettingsError("webhook_secret", "is required with webhook_url: a random string of 16+ characters")
        for name in ("rate_limit_feedback", "rate_limit_requests", "rate_limit_email", "rate_limit_lookup"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _RATE_RE.match(value)):
                raise SettingsError(name, f"{value!r} is not a rate such as '10/minute' or '5 per hour' (None: no limit)")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]
