"""Customer forms: what a form carries, reading the body and validating the fields.

Small pieces a view combines, each usable (and tested) alone:

* Signed values, CSRF tokens and the same-origin check live in :mod:`selfservice.csrf`
  (their own topic: where a request comes from); they are re-exported here, so
  ``from selfservice.forms import check_csrf`` keeps working.
* :class:`FormTokens` — what a rendered form carries besides its fields: the CSRF token,
  a double-submit key (``idempotency_key``) and the honeypot's name.
* :data:`HONEYPOT` — a field people never see and bots fill in.
* :class:`Field` and :func:`validate` — text, email, choice and number fields; errors come
  back per field with a message written for the customer, and the raw values are kept so a
  form with a mistake is shown again with everything the customer typed.

Nothing here touches the database.
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

# Re-exported (they lived here first, and hosts import same_origin from here).
from .csrf import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    IdSigner,
    Signer,
    check_csrf,
    csrf_token,
    same_origin,
    set_csrf_cookie,
)
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

HONEYPOT = "website"
IDEMPOTENCY_FIELD = "idempotency_key"
IDEMPOTENCY_HEADER = "idempotency-key"

_MAX_FIELDS = 64
_MAX_FIELD_CHARS = 100_000
_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")


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
