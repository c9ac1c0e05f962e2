"""Customer forms: signed tokens, CSRF protection, the honeypot and field validation.

Small pieces a view combines, each usable (and tested) alone, in the asgi-csrf spirit:

* :class:`Signer` — itsdangerous, one *purpose* per use (the purpose is the salt), so a
  token made for one thing (a survey link) is never accepted for another (a CSRF check).
  Keys rotate: ``Settings.secret_key`` may list several, newest first. :class:`IdSigner`
  is its cheap sibling for a bare random id (the visitor cookie): no JSON, no timestamp.
* CSRF, double-submit style: a random id lives in the ``ss_csrf`` cookie (``HttpOnly``,
  ``SameSite=Lax``) and each form carries ``csrf_token`` = that id signed for the form's
  purpose, with a time limit. :func:`check_csrf` also accepts the token in an
  ``X-CSRF-Token`` header for ``fetch``.
* :func:`same_origin` — the second line of defence, and the only one for the "Was this
  helpful?" buttons: those live on cached, shared article pages that cannot carry anything
  per visitor, so their POST must come with ``Sec-Fetch-Site: same-origin`` or an ``Origin``
  / ``Referer`` of this site (browsers send them on every form POST and ``fetch``).
* :data:`HONEYPOT` — a field people never see and bots fill in.
* :class:`Field` and :func:`validate` — text, email, choice and number fields; errors come
  back per field with a message written for the customer, and the raw values are kept so a
  form with a mistake is shown again with everything the customer typed.

Nothing here touches the database.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from babel.numbers import format_decimal
from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous import Signer as _HMACSigner
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from .i18n import SOURCE_LANGUAGE, language_of, translations

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "HONEYPOT",
    "Field",
    "IdSigner",
    "FormResult",
    "FormTokens",
    "IDEMPOTENCY_FIELD",
    "Signer",
    "check_csrf",
    "clean_text",
    "csrf_token",
    "form_tokens",
    "idempotency_key",
    "bad_idempotency_header",
    "is_bot",
    "json_error",
    "json_type_errors",
    "read_form",
    "same_origin",
    "set_csrf_cookie",
    "validate",
]

CSRF_COOKIE = "ss_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
HONEYPOT = "website"
IDEMPOTENCY_FIELD = "idempotency_key"
IDEMPOTENCY_HEADER = "idempotency-key"
CSRF_MAX_AGE = 12 * 3600  # a form left open over lunch still works; one left overnight does not

_MAX_FIELDS = 64
_MAX_FIELD_CHARS = 100_000
_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


class Signer:
    """Sign and check small JSON values for one ``purpose``; keys newest first.

    >>> s = Signer(["k" * 32], "survey")
    >>> s.loads(s.dumps({"a": 1}), max_age=60)
    {'a': 1}
    """

    def __init__(self, keys: Sequence[str], purpose: str) -> None:
        # itsdangerous signs with the *last* key and accepts any: reverse our newest-first list.
        self.purpose = purpose
        self._s = URLSafeTimedSerializer(list(reversed(keys)), salt=f"selfservice.{purpose}")

    def dumps(self, value: Any) -> str:
        return str(self._s.dumps(value))

    def loads(self, token: str, max_age: int | None = None) -> Any:
        """The signed value; raises ``itsdangerous.BadData`` when forged, altered or expired."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise BadData("no token")
        return self._s.loads(token, max_age=max_age)

    def try_loads(self, token: str | None, max_age: int | None = None) -> Any | None:
        """Like :meth:`loads` but ``None`` for anything that does not check out."""
        try:
            return self.loads(token or "", max_age=max_age)
        except BadData:
            return None


class IdSigner:
    """Sign and check a short random id for one ``purpose``: ``<id>.<HMAC-SHA256>``.

    For ids that live in a cookie with its own lifetime (the visitor cookie sent with every
    vote): no JSON, no compression, no timestamp, so making or checking one costs ~10 µs
    where :class:`Signer`'s timed JSON token costs ~80 µs. Same key rotation (newest first),
    and a purpose of its own: its tokens are never :class:`Signer` tokens, nor the reverse.
    """

    def __init__(self, keys: Sequence[str], purpose: str) -> None:
        self.purpose = purpose
        self._s = _HMACSigner(list(reversed(keys)), salt=f"selfservice.id.{purpose}", digest_method=hashlib.sha256)

    def dumps(self, value: str) -> str:
        return self._s.sign(value).decode()

    def loads(self, token: str) -> str:
        """The id; raises ``itsdangerous.BadData`` when forged or altered."""
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise BadData("no token")
        return self._s.unsign(token).decode()

    def try_loads(self, token: str | None) -> str | None:
        """Like :meth:`loads` but ``None`` for anything that does not check out."""
        try:
            return self.loads(token or "")
        except BadData:
            return None


# -- CSRF -------------------------------------------------------------------------------------


def _cookie_id(request: Request) -> str | None:
    value = request.cookies.get(CSRF_COOKIE)
    if value and re.fullmatch(r"[A-Za-z0-9_-]{32,64}", value):
        return value
    return None


def csrf_token(request: Request, keys: Sequence[str], purpose: str) -> str:
    """The token to put in a form for ``purpose``; call :func:`set_csrf_cookie` on the response.

    Stores the cookie id it used on ``request.state`` so the page and the cookie agree.
    """
    cid = getattr(request.state, "csrf_id", None) or _cookie_id(request) or secrets.token_urlsafe(32)
    request.state.csrf_id = cid
    return Signer(keys, f"csrf.{purpose}").dumps(cid)


def set_csrf_cookie(request: Request, response: Response) -> None:
    """Send the ``ss_csrf`` cookie if :func:`csrf_token` had to make a new id."""
    cid = getattr(request.state, "csrf_id", None)
    if cid and cid != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, cid, max_age=30 * 86400, path=_cookie_path(request), httponly=True, samesite="lax",
            secure=request.url.scheme == "https",
        )


def _cookie_path(request: Request) -> str:
    return (str(request.scope.get("root_path", "")).rstrip("/") or "") + "/"


def check_csrf(request: Request, form: Mapping[str, str], keys: Sequence[str], purpose: str) -> bool:
    """True when the form (or the ``X-CSRF-Token`` header) carries a valid token for this
    visitor's cookie and ``purpose``, made less than :data:`CSRF_MAX_AGE` seconds ago."""
    cid = _cookie_id(request)
    token = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if cid is None or not token:
        return False
    signed = Signer(keys, f"csrf.{purpose}").try_loads(token, max_age=CSRF_MAX_AGE)
    return isinstance(signed, str) and hmac.compare_digest(signed, cid)


def same_origin(request: Request, extra_origins: Iterable[str] = ()) -> bool:
    """Whether the browser says this request came from one of our own pages.

    ``Sec-Fetch-Site`` when present (every current browser), else ``Origin``, else the
    ``Referer``'s origin, compared with the request's own origin and ``extra_origins``
    (``Settings.base_url``'s origin). No header at all is refused: a form POST from a
    browser always sends one of them.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    own = {f"{request.url.scheme}://{request.url.netloc}".lower(), *(o.lower().rstrip("/") for o in extra_origins)}
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        return origin.lower().rstrip("/") in own
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() in own
    return False


@dataclass(frozen=True)
class FormTokens:
    """What a rendered form carries besides its fields (see ``_fields.html``'s ``form_security``)."""

    purpose: str
    csrf_token: str
    idempotency_key: str
    honeypot: str = HONEYPOT


def form_tokens(request: Request, keys: Sequence[str], purpose: str, *, idempotency: str | None = None) -> FormTokens:
    """A CSRF token for ``purpose`` and a double-submit key (kept when the form is shown again,
    so "submit, error, fix, submit" still counts as one submission)."""
    key = idempotency if idempotency and _KEY_RE.fullmatch(idempotency) else secrets.token_urlsafe(18)
    return FormTokens(purpose, csrf_token(request, keys, purpose), key)


_KEY_RE = re.compile(r"[A-Za-z0-9_.:-]{8,100}")  # the store prefixes the form's name (128 in all)


def idempotency_key(request: Request, form: Mapping[str, str]) -> str | None:
    """The double-submit key from the ``Idempotency-Key`` header or the hidden field, if well formed."""
    key = request.headers.get(IDEMPOTENCY_HEADER) or form.get(IDEMPOTENCY_FIELD) or ""
    return key if _KEY_RE.fullmatch(key) else None


def bad_idempotency_header(request: Request) -> str | None:
    """A message when an ``Idempotency-Key`` header was sent but cannot be used (API clients
    must hear about it: silently ignoring it would let a retry store a second record)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None or _KEY_RE.fullmatch(key):
        return None
    return "Idempotency-Key must be 8 to 100 characters: letters, digits and _ . : -"


def json_error(status: int, message: str, errors: Mapping[str, str] | None = None,
               headers: Mapping[str, str] | None = None) -> Response:
    """The API's error body: ``{"error", "status"}`` plus ``errors`` by field for a 422."""
    from starlette.responses import JSONResponse

    body: dict[str, Any] = {"error": message, "status": status}
    if errors:
        body["errors"] = dict(errors)
    response = JSONResponse(body, status_code=status, headers=dict(headers or {}))
    response.headers["cache-control"] = "no-store"
    return response


def is_bot(form: Mapping[str, str]) -> bool:
    """The honeypot: people never see the field, so anything in it was typed by a bot."""
    return bool(form.get(HONEYPOT, "").strip())


# -- reading and validating -------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str]:
    """The submitted fields as ``{name: first value}`` from a form or a JSON object body.

    Files are ignored; JSON numbers and booleans become strings (validation converts them
    back), other JSON values are dropped. At most 64 fields and 100,000 characters each.
    Raises ``ValueError`` for a body that is neither.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    out: dict[str, str] = {}
    if ctype == "application/json":
        import json

        try:
            data = json.loads(await request.body())
        except (ValueError, RecursionError) as exc:
            raise ValueError("the body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        request.state.json_body = data
        for key, value in list(data.items())[:_MAX_FIELDS]:
            if isinstance(value, bool):
                out[str(key)] = "yes" if value else "no"
            elif isinstance(value, (str, int, float)):
                out[str(key)] = str(value)
        return {k: v[:_MAX_FIELD_CHARS] for k, v in out.items()}
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ValueError("send the form as application/x-www-form-urlencoded, multipart/form-data or JSON")
    async with request.form(max_files=0, max_fields=_MAX_FIELDS) as form:
        for key, value in form.multi_items():
            if key not in out and not isinstance(value, UploadFile):
                out[key] = value[:_MAX_FIELD_CHARS]
    return out


def json_type_errors(request: Request, types: Mapping[str, type]) -> dict[str, str]:
    """For a JSON body read by :func:`read_form`: fields whose JSON type is not the documented
    one (``bool``, ``int`` or ``str``). ``"5"`` is not a score and ``"yes"`` is not a boolean."""
    body = getattr(request.state, "json_body", None)
    if not isinstance(body, dict):
        return {}
    names = {bool: "true or false", int: "a whole number", str: "a string"}
    errors = {}
    for name, expected in types.items():
        if name not in body:
            continue
        value = body[name]
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            errors[name] = f"{name} must be {names.get(expected, expected.__name__)}"
    return errors


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Normalise what a customer typed: NFC, no control characters (keeping newlines and
    tabs when ``multiline``), no lone surrogates, trimmed. Never raises."""
    value = value.encode("utf-8", "replace").decode("utf-8") if not _encodable(value) else value
    value = unicodedata.normalize("NFC", value)
    keep = "\n\t" if multiline else ""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = "".join(ch for ch in value if ch in keep or unicodedata.category(ch) not in ("Cc", "Cs", "Co"))
    return value.strip()


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Field:
    """One form field. ``kind``: ``text``, ``textarea``, ``email``, ``choice`` or ``int``."""

    name: str
    label: str
    kind: str = "text"
    required: bool = True
    max_length: int = 200
    min_length: int = 0
    choices: Sequence[str] = ()
    minimum: int | None = None
    maximum: int | None = None
    hint: str = ""

    def clean(self, raw: str | None, locale: str = SOURCE_LANGUAGE) -> tuple[Any, str | None]:
        """(value, error message or None); the message is in ``locale``'s language."""
        catalog = translations(locale)
        _ = catalog.gettext
        label = _(self.label)
        count = functools.partial(format_decimal, locale=locale.replace("-", "_"))
        if raw is not None and self.kind not in ("int", "choice") and len(raw.replace("\r\n", "\n")) > self.max_length:
            # Counted before trimming, as the browser's maxlength counts it.
            return None, _("%(field)s must be %(max)s characters or fewer (it has %(count)s)") % {
                "field": label, "max": count(self.max_length), "count": count(len(raw))}
        text = clean_text(raw or "", multiline=self.kind == "textarea")
        if not text:
            if not self.required:
                return None, None
            # English writes a label inside a sentence in lower case ("Enter email address");
            # other languages keep the label as it is shown (German nouns are capitalised).
            inline = label[:1].lower() + label[1:] if language_of(locale) == SOURCE_LANGUAGE else label
            # Translators: %(field)s is the label of a form field that was left empty.
            return None, _("Enter %(field)s") % {"field": inline}
        if self.kind == "int":
            if not re.fullmatch(r"[+-]?\d{1,6}", text):
                return None, _("%(field)s: choose a number") % {"field": label}
            number = int(text)
            if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
                return None, _("%(field)s: choose a number from %(low)s to %(high)s") % {
                    "field": label, "low": self.minimum, "high": self.maximum}
            return number, None
        if self.kind == "choice":
            return (text, None) if text in self.choices else (None, _("%(field)s: choose one of the options") % {"field": label})
        if len(text) > self.max_length:
            return None, _("%(field)s must be %(max)s characters or fewer (it has %(count)s)") % {
                "field": label, "max": count(self.max_length), "count": count(len(text))}
        if len(text) < self.min_length:
            return None, catalog.ngettext("%(field)s must be at least %(num)s character", "%(field)s must be at least %(num)s characters",
                                          self.min_length) % {"field": label, "num": self.min_length}
        if self.kind == "email":
            if len(text) > 254 or not _EMAIL_RE.match(text):
                return None, _("Enter an email address like name@example.com")
            local, _at, domain = text.rpartition("@")
            return f"{local}@{domain.lower()}", None
        return text, None


@dataclass
class FormResult:
    """What :func:`validate` found: cleaned ``values``, ``errors`` per field and the ``raw``
    input (trimmed to each field's size, to show the form again as the customer left it)."""

    values: dict[str, Any]
    errors: dict[str, str]
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(form: Mapping[str, str], fields: Sequence[Field], locale: str = SOURCE_LANGUAGE) -> FormResult:
    """Clean every field; the first problem of each goes into ``errors`` by field name, in
    ``locale``'s language (pages pass the request's locale; the JSON API keeps English)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    raw: dict[str, str] = {}
    for f in fields:
        given = form.get(f.name)
        if isinstance(given, str):
            # Keep what they typed (bounded, printable) to fill the form in again.
            raw[f.name] = clean_text(given[: f.max_length * 2 + 100], multiline=f.kind == "textarea")
        value, error = f.clean(given if isinstance(given, str) else None, locale)
        if error:
            errors[f.name] = error
        else:
            values[f.name] = value
    return FormResult(values, errors, raw)
