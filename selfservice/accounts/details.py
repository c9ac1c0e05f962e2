"""Update account details: name, phone, address, communication preferences; change email.

Name, phone and preferences change at once. The address is sensitive (it is where orders
go), so changing it needs the current password unless the customer typed it in the last
ten minutes (a re-authentication cookie from :mod:`.sessions`). An email change always
needs the password, takes effect only when confirmed from a link sent to the *new* address
(so nobody can move an account to an address they cannot read), and tells the *old*
address that it happened.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..forms import Field, csrf_token, validate
from ..i18n import N_, request_locale
from .actions import AccountAction
from .backend import Account, Address, ProfileChanges
from .pages import client_ip, page, read, redirect, require_account, throttled
from .runtime import Accounts, accounts_of
from .sessions import reauth_fresh, start_reauth
from .tokens import TokenError

__all__ = ["ACTION", "PREFERENCES"]

PURPOSE = "account.details"
EMAIL_PURPOSE = "account.email"
PREFERENCES = {
    "order_updates": N_("Emails about my orders and deliveries"),
    "newsletter": N_("News and offers by email"),
    "sms": N_("Text messages about deliveries"),
}
FIELDS = [
    Field("name", N_("Full name"), max_length=200),
    Field("phone", N_("Phone number"), required=False, max_length=40),
    Field("line1", N_("Address line 1"), required=False, max_length=200),
    Field("line2", N_("Address line 2"), required=False, max_length=200),
    Field("city", N_("Town or city"), required=False, max_length=100),
    Field("postcode", N_("Postcode"), required=False, max_length=16),
    Field("country", N_("Country"), required=False, max_length=100),
]
EMAIL_FIELDS = [Field("new_email", N_("New email address"), kind="email", max_length=254)]
_PHONE_CHARS = set("0123456789+ ()-.")


def _values(account: Account) -> dict[str, object]:
    a = account.address
    return {"name": account.name, "phone": account.phone, "line1": a.line1, "line2": a.line2, "city": a.city,
            "postcode": a.postcode, "country": a.country, "new_email": ""}


def _render(request: Request, account: Account, *, status: int = 200, errors: Mapping[str, str] | None = None,
            values: Mapping[str, object] | None = None, prefs: Mapping[str, bool] | None = None,
            saved: bool = False) -> Response:
    accounts = accounts_of(request)
    fresh = reauth_fresh(request, accounts.tokens["reauth"], account)
    return page(request, "account_details.html", N_("Your details"), purpose=PURPOSE, status=status, errors=errors,
                values=values or _values(account), preferences=PREFERENCES, chosen=prefs or account.preferences,
                reauth_fresh=fresh, saved=saved,
                email_csrf=csrf_token(request, accounts.settings.secret_keys, EMAIL_PURPOSE))


async def show(request: Request) -> Response:
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    return _render(request, account, saved=request.query_params.get("saved") == "1")


async def _password_ok(request: Request, accounts: Accounts, account: Account, password: str) -> bool | int:
    """True/False, or seconds to wait when there were too many tries."""
    wait = throttled(request, accounts, "sign_in", f"{client_ip(request)}|{account.id}")
    if wait is not None:
        return wait
    ok = bool(password) and len(password) <= 1024 and await accounts.backend.check_password(account, password)
    await accounts.audit(request, "reauth", "ok" if ok else "denied", account=account)
    return ok


async def save(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    posted = await read(request, PURPOSE)
    prefs = {key: posted.fields.get(f"pref_{key}") == "on" for key in PREFERENCES}
    if not posted.csrf_ok:
        return _render(request, account, status=403, values=posted.kept("current_password"), prefs=prefs,
                       errors={"form": N_("This form had expired. We have refreshed it: please send it again.")})
    result = validate(posted.fields, FIELDS, request_locale(request))
    errors = dict(result.errors)
    phone = result.values.get("phone") or ""
    if phone and (not set(phone) <= _PHONE_CHARS or sum(c.isdigit() for c in phone) < 6):
        errors["phone"] = N_("Enter a phone number using digits, spaces and +, like 07700 900123")
    address = Address(*(result.values.get(k) or "" for k in ("line1", "line2", "city", "postcode", "country")))
    address_changed = address != account.address
    response_extra = None
    if not errors and address_changed and not reauth_fresh(request, accounts.tokens["reauth"], account):
        ok = await _password_ok(request, accounts, account, posted.fields.get("current_password", ""))
        if ok is not True:
            errors["current_password"] = (N_("Too many tries. Please wait a few minutes.") if ok is not False
                                          else N_("Enter your current password to change your address."))
        else:
            response_extra = account
    if errors:
        await accounts.audit(request, "profile.update", "invalid", account=account, fields=sorted(errors))
        return _render(request, account, status=422, values=result.raw, prefs=prefs, errors=errors)
    changes = ProfileChanges(
        name=result.values["name"] if result.values["name"] != account.name else None,
        phone=phone if phone != account.phone else None,
        address=address if address_changed else None,
        preferences=prefs if prefs != dict(account.preferences) else None,
    )
    if changes.changed_fields():
        account = await accounts.backend.update_profile(account, changes)
    await accounts.audit(request, "profile.update", "ok", account=account, fields=changes.changed_fields())
    response = redirect(request, "account_details", _query={"saved": "1"})
    if response_extra is not None:
        start_reauth(request, response, accounts.tokens["reauth"], account, accounts.settings.base_url)
    return response


async def change_email(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    posted = await read(request, EMAIL_PURPOSE)
    kept = {**_values(account), **posted.kept("current_password", "email_password")}
    if not posted.csrf_ok:
        return _render(request, account, status=403, values=kept,
                       errors={"new_email": N_("This form had expired. We have refreshed it: please send it again.")})
    result = validate(posted.fields, EMAIL_FIELDS, request_locale(request))
    errors = dict(result.errors)
    new_email = result.values.get("new_email", "")
    if not errors and new_email.casefold() == account.email.casefold():
        errors["new_email"] = N_("That is already the email address on your account.")
    if not errors:
        ok = await _password_ok(request, accounts, account, posted.fields.get("email_password", ""))
        if ok is not True:
            errors["email_password"] = (N_("Too many tries. Please wait a few minutes.") if ok is not False
                                        else N_("Your current password is not right."))
    if errors:
        await accounts.audit(request, "email_change.request", "invalid", account=account)
        return _render(request, account, status=422, values=kept, errors=errors)
    root = accounts.mail_root(request)
    if root is None:
        await accounts.audit(request, "email_change.request", "no_base_url", account=account)
        return _render(request, account, status=503, values=kept,
                       errors={"new_email": N_("We can't send email right now. Please try again later.")})
    token = accounts.tokens["email-change"].make(account, e=new_email)
    link = root + f"/account/details/email/{token}"
    await accounts.send_mail(new_email, "account_email_confirm", {"account": account, "link": link, "locale": request_locale(request),
                                                                   "new_email": new_email})
    await accounts.audit(request, "email_change.request", "sent", account=account)
    return page(request, "account_email_sent.html", N_("Confirm your new address"), new_email=new_email)


async def _email_token(accounts: Accounts, token: str) -> tuple[Account, str]:
    tokens = accounts.tokens["email-change"]
    payload = tokens.peek(token)
    uid, new_email = payload.get("u"), payload.get("e")
    account = await accounts.backend.get_by_id(uid) if isinstance(uid, str) else None
    if not isinstance(new_email, str) or not new_email:
        raise TokenError("invalid")
    return tokens.check_account(payload, account), new_email


async def confirm_email(request: Request) -> Response:
    accounts = accounts_of(request)
    try:
        account, new_email = await _email_token(accounts, request.path_params["token"])
    except TokenError as exc:
        await accounts.audit(request, "email_change.confirm", exc.reason)
        return page(request, "account_reset_invalid.html", N_("This link doesn't work"), status=400, reason=exc.reason,
                    flow="email")
    if request.method != "POST":
        return page(request, "account_email_confirm.html", N_("Confirm your new address"), purpose=EMAIL_PURPOSE,
                    new_email=new_email)
    posted = await read(request, EMAIL_PURPOSE)
    if not posted.csrf_ok:
        return page(request, "account_email_confirm.html", N_("Confirm your new address"), purpose=EMAIL_PURPOSE,
                    new_email=new_email, status=403,
                    errors={"form": N_("This form had expired. We have refreshed it: please press the button again.")})
    old_email = account.email
    account = await accounts.backend.set_email(account, new_email)
    await accounts.audit(request, "email_change.confirm", "ok", account=account)
    await accounts.send_mail(old_email, "account_email_changed", {"account": account, "new_email": new_email, "locale": request_locale(request),
                                                                   "changed_at": accounts.clock()})
    return page(request, "account_email_done.html", N_("Email address changed"), new_email=new_email)


ACTION = AccountAction(
    slug="details",
    title=N_("Your details"),
    summary=N_("Change your name, phone number, address, email address and what we send you."),
    routes=[
        Route("/", show, name="account_details", methods=["GET", "HEAD"]),
        Route("/", save, name="account_details_save", methods=["POST"]),
        Route("/email", change_email, name="account_email_change", methods=["POST"]),
        Route("/email/{token}", confirm_email, name="account_email_confirm", methods=["GET", "HEAD", "POST"]),
    ],
    menu_route="account_details",
    audience="signed_in",
    order=20,
    keywords=[
        "change address", "update address", "new address", "moved house", "change email",
        "update email address", "change phone number", "change name", "update details", "personal details",
        "unsubscribe", "marketing emails", "stop newsletter", "contact preferences",
    ],
)
