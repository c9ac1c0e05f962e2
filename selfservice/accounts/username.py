"""Username reminder: the same enumeration-safe pattern as the password reset.

One page text for every address; the lookup and the mail happen after the response; the
mail goes to the stored address of the account that matched.
"""

from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..forms import Field, validate
from ..i18n import N_, request_locale
from .actions import AccountAction
from .pages import page, read, throttled, wait_message
from .runtime import Accounts, accounts_of

__all__ = ["ACTION", "deliver_reminder"]

log = logging.getLogger("selfservice")
PURPOSE = "account.username"
EMAIL = Field("email", N_("Email address"), kind="email", max_length=254)
SENT = N_("If an account uses that email address, we have sent it a reminder of the username.")
TITLE = N_("Forgotten your username?")


async def form(request: Request) -> Response:
    return page(request, "account_username.html", TITLE, purpose=PURPOSE)


async def submit(request: Request) -> Response:
    accounts = accounts_of(request)
    posted = await read(request, PURPOSE)
    if not posted.csrf_ok:
        return page(request, "account_username.html", TITLE, purpose=PURPOSE, status=403, values=posted.kept(),
                    errors={"form": N_("This form had expired. We have refreshed it: please send it again.")})
    wait = throttled(request, accounts, "account")
    if wait is not None:
        await accounts.audit(request, "username_reminder.request", "rate_limited")
        return page(request, "account_username.html", TITLE, purpose=PURPOSE, status=429, values=posted.kept(),
                    errors={"form": wait_message(request, wait)})
    result = validate(posted.fields, [EMAIL], request_locale(request))
    if not result.ok:
        return page(request, "account_username.html", TITLE, purpose=PURPOSE, status=422, values=result.raw,
                    errors=result.errors)
    response = page(request, "account_reset_sent.html", N_("Check your email"), message=SENT)
    if not posted.bot:
        response.background = BackgroundTask(deliver_reminder, accounts, result.values["email"],
                                             accounts.mail_root(request), request_locale(request))
    return response


async def deliver_reminder(accounts: Accounts, email: str, root: str | None, locale: str | None = None) -> None:
    try:
        account = await accounts.backend.get_by_email(email)
        if account is None or not account.active:
            await accounts.audit(None, "username_reminder.request", "no_account")
            return
        if accounts.limits.hit("mail", account.email) is not None:
            await accounts.audit(None, "username_reminder.request", "rate_limited", account=account)
            return
        sign_in = (root + "/account/sign-in") if root and accounts.backend.login_url is None else (
            accounts.backend.login_url or "")
        await accounts.send_mail(account.email, "account_username", {"account": account, "sign_in": sign_in,
                                                                    "locale": locale or accounts.settings.locale})
        await accounts.audit(None, "username_reminder.request", "sent", account=account)
    except Exception:
        log.exception("username reminder mail failed")


ACTION = AccountAction(
    slug="username",
    title=N_("Forgotten your username?"),
    summary=N_("We'll email it to the address on your account."),
    routes=[
        Route("/", form, name="account_username", methods=["GET", "HEAD"]),
        Route("/", submit, name="account_username_submit", methods=["POST"]),
    ],
    menu_route="account_username",
    audience="signed_out",
    order=90,
    keywords=[
        "username", "user name", "forgot login", "forgotten login", "which email address do I sign in with",
    ],
)
