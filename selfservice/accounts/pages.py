"""What every account page shares: rendering without caching, CSRF, honeypot, rate limits,
reading forms without ever failing, and "sign in first".

Account pages are per visitor, so they never go through the page cache and are sent with
``Cache-Control: no-store``. A form with mistakes is shown again with status 422, an error
summary at the top and everything the customer typed (except passwords).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..caching import respond
from ..i18n import N_, translator
from ..forms import HONEYPOT, check_csrf, csrf_token, is_bot, read_form, set_csrf_cookie
from ..ratelimit import client_ip
from ..views.rendering import PageMeta, render, url_builder
from .backend import Account
from .runtime import Accounts, accounts_of

__all__ = ["FormInput", "client_ip", "page", "read", "redirect", "require_account", "throttled", "wait_message"]

# Order and invoice statuses the demo backend uses; a backend's other statuses are shown capitalised.
STATUS_LABELS = {
    "placed": N_("Placed"), "paid": N_("Paid"), "packed": N_("Packed"), "shipped": N_("Shipped"),
    "delivered": N_("Delivered"), "cancelled": N_("Cancelled"), "refunded": N_("Refunded"), "open": N_("Open"),
    "overdue": N_("Overdue"), "void": N_("Void"),
}


def page(
    request: Request,
    template: str,
    title: str,
    *,
    purpose: str | None = None,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    crumbs: list[tuple[str, str | None]] | None = None,
    **context: Any,
) -> Response:
    """Render an account page; ``purpose`` adds a CSRF token for its form.

    ``title``, ``crumbs`` labels and ``errors`` are English (marked with ``N_`` where they are
    written) or already translated: they are shown in the request's language.
    """
    from ..store.cases import STATUS_LABELS as CASE_LABELS

    accounts = accounts_of(request)
    url = url_builder(request)
    _ = translator(request).gettext
    title = _(title)
    token = csrf_token(request, accounts.settings.secret_keys, purpose) if purpose else ""
    trail: list[tuple[str, str | None]] = [(_("Home"), url("home")), (_("Account"), url("account"))]
    trail += [(_(label), href) for label, href in crumbs] if crumbs is not None else [(title, None)]
    prepared = render(
        request,
        template,
        page=PageMeta(f"{title} – {accounts.settings.site_name}", noindex=True),
        breadcrumbs=trail if template != "account_home.html" else [(_("Home"), url("home")), (_("Account"), None)],
        status=status,
        title=title,
        csrf_token=token,
        honeypot=HONEYPOT,
        errors={name: _(message) for name, message in (errors or {}).items()},
        status_label=lambda status: _(STATUS_LABELS[status]) if status in STATUS_LABELS else str(status).capitalize(),
        case_label=lambda status: _(CASE_LABELS.get(status, str(status))),
        values=dict(values or {}),
        account=request.scope.get("selfservice.account"),
        **context,
    )
    response = respond(request, prepared, private=True)
    response.headers["cache-control"] = "no-store"
    set_csrf_cookie(request, response)
    return response


class FormInput:
    """A submitted form, read safely: ``fields`` (never raises), ``csrf_ok``, ``bot``."""

    def __init__(self, fields: dict[str, str], csrf_ok: bool, readable: bool) -> None:
        self.fields = fields
        self.csrf_ok = csrf_ok
        self.readable = readable

    @property
    def bot(self) -> bool:
        return is_bot(self.fields)

    def kept(self, *secret: str) -> dict[str, str]:
        """What to show again in the form: everything but passwords and tokens."""
        return {k: v for k, v in self.fields.items() if k not in secret and k not in ("csrf_token", HONEYPOT)}


async def read(request: Request, purpose: str) -> FormInput:
    accounts = accounts_of(request)
    await accounts.store()  # first use: migrate and seed the demo store before any lookup
    try:
        fields = await read_form(request)
        readable = True
    except Exception:  # malformed multipart, bad encoding…: a 400 page, never a 500
        fields, readable = {}, False
    fields = {k: v for k, v in fields.items() if isinstance(k, str) and isinstance(v, str)}
    return FormInput(fields, readable and check_csrf(request, fields, accounts.settings.secret_keys, purpose), readable)


def wait_message(request: Request, seconds: int, *, reset: bool = False) -> str:
    """"Too many attempts …, please wait N seconds" in the request's language."""
    catalog = translator(request)
    if reset:  # the sign-in form: resetting the password is the way out
        return catalog.ngettext("Too many attempts. Please wait %(num)s second, or reset your password.",
                                "Too many attempts. Please wait %(num)s seconds, or reset your password.",
                                seconds) % {"num": seconds}
    return catalog.ngettext("Too many attempts from your network. Please wait %(num)s second and try again.",
                            "Too many attempts from your network. Please wait %(num)s seconds and try again.",
                            seconds) % {"num": seconds}


def throttled(request: Request, accounts: Accounts, scope: str, identity: str | None = None) -> int | None:
    """Seconds to wait when this IP (or ``identity``) is over its budget, else None."""
    return accounts.limits.hit(scope, identity if identity is not None else client_ip(request))


def redirect(request: Request, name: str, /, **params: Any) -> RedirectResponse:
    response = RedirectResponse(url_builder(request)(name, **params), status_code=303)
    response.headers["cache-control"] = "no-store"
    return response


async def require_account(request: Request) -> Account | Response:
    """The signed-in account, or a redirect to sign in that comes back here afterwards."""
    accounts = accounts_of(request)
    account = await accounts.current_account(request)
    if account is not None:
        return account
    back = request.url.path
    if accounts.backend.login_url is not None:
        sep = "&" if "?" in accounts.backend.login_url else "?"
        return RedirectResponse(f"{accounts.backend.login_url}{sep}{urlencode({'next': back})}", status_code=303)
    return redirect(request, "account_sign_in", _query={"next": back})
