"""Password reset: ask by email, get a single-use link, choose a new password.

Enumeration-safe: the page after "send me a link" is the same text whether or not the
address has an account, and it is sent *before* any lookup happens — finding the account,
making the token and writing the mail run in a background task after the response, so
the response time says nothing either. The mail goes to the address *stored* for the
account, never to the string that was typed (Django CVE-2019-19844: Unicode case-folding
tricks like ``ß``/``ss`` matched an account but mailed the attacker's look-alike address).
The link is built from ``Settings.base_url`` (never the Host header), expires after
``Settings.account_token_max_age`` (1 h) and dies once used, because it is bound to the
password hash and last login. A notice goes to the account's address after the change.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..forms import Field, validate
from ..i18n import N_, request_locale
from .actions import AccountAction
from .backend import Account
from .pages import page, read, redirect, throttled, wait_message
from .passwords import password_problems
from .runtime import Accounts, accounts_of
from .tokens import TokenError

__all__ = ["ACTION", "deliver_reset"]

log = logging.getLogger("selfservice")
PURPOSE = "account.reset"
EMAIL = Field("email", N_("Email address"), kind="email", max_length=254)
SENT = N_("If an account uses that email address, we have sent it a link to choose a new password.")


async def request_form(request: Request) -> Response:
    return page(request, "account_reset.html", N_("Reset your password"), purpose=PURPOSE)


async def request_submit(request: Request) -> Response:
    accounts = accounts_of(request)
    form = await read(request, PURPOSE)
    title = N_("Reset your password")
    if not form.csrf_ok:
        return page(request, "account_reset.html", title, purpose=PURPOSE, status=403, values=form.kept(),
                    errors={"form": N_("This form had expired. We have refreshed it: please send it again.")})
    wait = throttled(request, accounts, "account")
    if wait is not None:
        await accounts.audit(request, "password_reset.request", "rate_limited")
        return page(request, "account_reset.html", title, purpose=PURPOSE, status=429, values=form.kept(),
                    errors={"form": wait_message(request, wait)})
    result = validate(form.fields, [EMAIL], request_locale(request))
    if not result.ok:
        return page(request, "account_reset.html", title, purpose=PURPOSE, status=422, values=result.raw,
                    errors=result.errors)
    response = page(request, "account_reset_sent.html", N_("Check your email"), message=SENT)
    if not form.bot:
        root = accounts.mail_root(request)
        response.background = BackgroundTask(deliver_reset, accounts, result.values["email"], root,
                                             request_locale(request))
    return response


async def deliver_reset(accounts: Accounts, email: str, root: str | None, locale: str | None = None) -> None:
    """Find the account and mail it a link (runs after the response has been sent), in
    ``locale``: the language the form was filled in (``Settings.locale`` when None)."""
    try:
        account = await accounts.backend.get_by_email(email)
        if account is None or not account.active:
            await accounts.audit(None, "password_reset.request", "no_account")
            return
        if accounts.limits.hit("mail", account.email) is not None:
            await accounts.audit(None, "password_reset.request", "rate_limited", account=account)
            return
        if root is None:
            log.warning("password reset for account %s not sent: set Settings.base_url", account.id)
            await accounts.audit(None, "password_reset.request", "no_base_url", account=account)
            return
        token = accounts.tokens["password-reset"].make(account)
        link = root + _path("account_reset_confirm", token=token)
        minutes = accounts.settings.account_token_max_age // 60
        await accounts.send_mail(account.email, "account_reset", {"account": account, "link": link, "minutes": minutes,
                                                                 "locale": locale or accounts.settings.locale})
        await accounts.audit(None, "password_reset.request", "sent", account=account)
    except Exception:  # after the response: log, never raise into the server
        log.exception("password reset mail failed")


def _path(name: str, **params: str) -> str:
    return str(_ROUTER.url_path_for(name, **params))


async def _token_account(accounts: Accounts, token: str) -> Account:
    tokens = accounts.tokens["password-reset"]
    payload = tokens.peek(token)
    uid = payload.get("u")
    account = await accounts.backend.get_by_id(uid) if isinstance(uid, str) else None
    return tokens.check_account(payload, account)


async def choose_form(request: Request) -> Response:
    accounts = accounts_of(request)
    try:
        await _token_account(accounts, request.path_params["token"])
    except TokenError as exc:
        await accounts.audit(request, "password_reset.complete", exc.reason)
        return page(request, "account_reset_invalid.html", N_("This link doesn't work"), status=400, reason=exc.reason)
    return page(request, "account_reset_choose.html", N_("Choose a new password"), purpose=PURPOSE,
                min_length=accounts.settings.password_min_length)


async def choose_submit(request: Request) -> Response:
    accounts = accounts_of(request)
    title = N_("Choose a new password")
    try:
        account = await _token_account(accounts, request.path_params["token"])
    except TokenError as exc:
        await accounts.audit(request, "password_reset.complete", exc.reason)
        return page(request, "account_reset_invalid.html", N_("This link doesn't work"), status=400, reason=exc.reason)
    form = await read(request, PURPOSE)
    extra: dict[str, Any] = {"min_length": accounts.settings.password_min_length}
    if not form.csrf_ok:
        return page(request, "account_reset_choose.html", title, purpose=PURPOSE, status=403, **extra,
                    errors={"form": N_("This form had expired. We have refreshed it: please send it again.")})
    if throttled(request, accounts, "account") is not None:
        return page(request, "account_reset_choose.html", title, purpose=PURPOSE, status=429, **extra,
                    errors={"form": N_("Too many attempts from your network. Please wait a few minutes and try again.")})
    errors = new_password_errors(accounts, account, form.fields.get("password", ""), form.fields.get("password2", ""),
                                 request_locale(request))
    if errors:
        await accounts.audit(request, "password_reset.complete", "refused", account=account)
        return page(request, "account_reset_choose.html", title, purpose=PURPOSE, status=422, errors=errors, **extra)
    account = await accounts.backend.set_password(account, form.fields["password"])
    await accounts.audit(request, "password_reset.complete", "ok", account=account)
    await accounts.send_mail(account.email, "account_password_changed", {"account": account, "locale": request_locale(request),
                                                                          "changed_at": accounts.clock()})
    return redirect(request, "account_reset_done")


def new_password_errors(accounts: Accounts, account: Account, password: str, again: str,
                        locale: str = "en") -> dict[str, str]:
    problems = password_problems(password, min_length=accounts.settings.password_min_length, locale=locale,
                                 personal=(account.username, account.email, account.name))
    if problems:
        return {"password": " ".join(problems)}
    if password != again:
        return {"password2": N_("The two passwords are different. Type the same new password twice.")}
    return {}


async def done(request: Request) -> Response:
    return page(request, "account_reset_done.html", N_("Password changed"))


ROUTES = [
    Route("/", request_form, name="account_reset", methods=["GET", "HEAD"]),
    Route("/", request_submit, name="account_reset_submit", methods=["POST"]),
    Route("/done", done, name="account_reset_done", methods=["GET", "HEAD"]),
    Route("/{token}", choose_form, name="account_reset_confirm", methods=["GET", "HEAD"]),
    Route("/{token}", choose_submit, name="account_reset_choose", methods=["POST"]),
]
ACTION = AccountAction(
    slug="reset",
    title=N_("Reset your password"),
    summary=N_("Forgotten it? We'll email you a link to choose a new one."),
    routes=ROUTES,
    menu_route="account_reset",
    audience="everyone",
    order=80,
    keywords=[
        "forgot password", "forgotten password", "forgot my password", "reset password", "lost password",
        "change password", "new password", "password not working", "wrong password", "cannot log in",
        "cannot login", "cannot sign in", "unable to log in", "locked out", "password reset link",
    ],
)


class _Router:
    """Route paths without a request (for links in mail), as the portal serves them."""

    def url_path_for(self, name: str, **params: str) -> str:
        from starlette.routing import Router

        from .actions import mount_actions

        return str(Router(routes=mount_actions([ACTION])).url_path_for(name, **params))


_ROUTER = _Router()
