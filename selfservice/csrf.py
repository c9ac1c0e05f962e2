"""Where a request comes from: signed values, CSRF tokens and the same-origin check.

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

What a form carries besides (the double-submit key, the honeypot) and field validation are
in :mod:`selfservice.forms`, which re-exports everything here. Nothing here touches the
database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous import Signer as _HMACSigner
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CSRF_MAX_AGE",
    "IdSigner",
    "Signer",
    "check_csrf",
    "csrf_token",
    "same_origin",
    "set_csrf_cookie",
]

CSRF_COOKIE = "ss_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_MAX_AGE = 12 * 3600  # a form left open over lunch still works; one left overnight does not


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
