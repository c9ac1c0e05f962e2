"""The portal's own sign-in cookie and the "recently re-authenticated" mark.

Used only when the backend has no ``login_url`` (the demo, or a host that lets the portal
sign customers in). Both cookies are tokens from :mod:`.tokens`, so they are signed,
expire, rotate with the keys, and die when the password changes (they are bound to the
account's state like reset links). ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS,
scoped to the portal's mount path.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .backend import Account
from .tokens import TokenError, Tokens

__all__ = ["REAUTH_COOKIE", "SESSION_COOKIE", "clear_session", "reauth_fresh", "session_account_id", "start_reauth",
           "start_session"]

SESSION_COOKIE = "ss_account"
REAUTH_COOKIE = "ss_reauth"
SESSION_AGE = 8 * 3600
REAUTH_AGE = 10 * 60


def _path(request: Request) -> str:
    return (str(request.scope.get("root_path", "")).rstrip("/") or "") + "/"


def _secure(request: Request, base_url: str | None) -> bool:
    # Like the CSRF cookie: Secure when the request came over HTTPS (behind a TLS proxy, run
    # uvicorn with --proxy-headers so the scheme is right).
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, tokens: Tokens, account: Account, base_url: str | None) -> None:
    response.set_cookie(SESSION_COOKIE, tokens.make(account), max_age=tokens.max_age, path=_path(request),
                        httponly=True, samesite="lax", secure=_secure(request, base_url))


def clear_session(request: Request, response: Response) -> None:
    for name in (SESSION_COOKIE, REAUTH_COOKIE):
        response.delete_cookie(name, path=_path(request), httponly=True, samesite="lax")


def session_account_id(request: Request, tokens: Tokens) -> tuple[str, dict[str, object]] | None:
    """The account id in a valid session cookie and its payload (check it with the account)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        payload = dict(tokens.peek(raw))
    except TokenError:
        return None
    uid = payload.get("u")
    return (uid, payload) if isinstance(uid, str) else None


def start_reauth(request: Request, response: Response, tokens: Tokens, account: Account, base_url: str | None) -> None:
    response.set_cookie(REAUTH_COOKIE, tokens.make(account), max_age=tokens.max_age, path=_path(request),
                        httponly=True, samesite="strict", secure=_secure(request, base_url))


def reauth_fresh(request: Request, tokens: Tokens, account: Account) -> bool:
    """Did this customer type their password within the last few minutes?"""
    raw = request.cookies.get(REAUTH_COOKIE)
    if not raw:
        return False
    try:
        tokens.check_account(tokens.peek(raw), account)
    except TokenError:
        return False
    return True
