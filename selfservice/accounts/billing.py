"""Pay a bill: the balance and invoices from the backend, paid on the host's payment page.

The portal never sees card data. "Pay" sends the browser to ``Settings.payment_url`` with
the invoice number, amount and currency in the query string and a ``return_url`` that
carries a signed token (purpose ``payment-return``, valid for a day). The host's payment
page sends the customer back there; the portal checks the signature and says thank you,
but takes the *balance* only from the backend (a return link proves nothing was paid — the
payment provider tells the host, and the host's backend tells us).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..i18n import N_
from .actions import AccountAction
from .pages import page, read, require_account
from .runtime import accounts_of
from .tokens import TokenError

__all__ = ["ACTION"]

PURPOSE = "account.billing"


async def overview(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    invoices = await accounts.backend.invoices(account)
    balance = await accounts.backend.balance(account)
    await accounts.audit(request, "billing.view", "ok", account=account)
    return page(request, "account_billing.html", N_("Bills and payments"), purpose=PURPOSE, invoices=invoices,
                balance=balance, can_pay=accounts.settings.payment_url is not None)


async def pay(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    posted = await read(request, PURPOSE)
    invoices = await accounts.backend.invoices(account)
    balance = await accounts.backend.balance(account)
    number = posted.fields.get("invoice", "")
    invoice = next((i for i in invoices if i.number == number and i.payable), None)
    error = None
    if not posted.csrf_ok:
        error = N_("This form had expired. We have refreshed it: please press Pay again.")
    elif accounts.settings.payment_url is None:
        error = N_("Online payment is not available. Please call us to pay.")
    elif invoice is None:
        error = N_("That invoice isn't waiting for payment. Choose one from the list.")
    if error is not None or invoice is None or accounts.settings.payment_url is None:
        await accounts.audit(request, "billing.pay", "refused", account=account)
        return page(request, "account_billing.html", N_("Bills and payments"), purpose=PURPOSE, invoices=invoices,
                    balance=balance, can_pay=accounts.settings.payment_url is not None, status=422,
                    errors={"form": error or N_("Please try again.")})
    token = accounts.tokens["payment-return"].make(account, i=invoice.number, a=invoice.amount.minor,
                                                  c=invoice.amount.currency)
    root = accounts.settings.base_url.rstrip("/") if accounts.settings.base_url else (
        f"{request.url.scheme}://{request.url.netloc}{str(request.scope.get('root_path', '')).rstrip('/')}")
    query = {
        "invoice": invoice.number,
        "amount": str(invoice.amount.minor),
        "currency": invoice.amount.currency,
        "customer": account.id,
        "return_url": f"{root}/account/billing/return?{urlencode({'r': token})}",
    }
    url = accounts.settings.payment_url
    await accounts.audit(request, "billing.pay", "ok", account=account, target=f"invoice:{invoice.number}")
    response = RedirectResponse(f"{url}{'&' if '?' in url else '?'}{urlencode(query)}", status_code=303)
    response.headers["cache-control"] = "no-store"
    return response


async def returned(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    tokens = accounts.tokens["payment-return"]
    try:
        payload = tokens.peek(request.query_params.get("r", ""))
        if payload.get("u") != account.id:
            raise TokenError("invalid")
    except TokenError as exc:
        await accounts.audit(request, "billing.return", exc.reason if exc.reason != "used" else "invalid",
                             account=account)
        return page(request, "account_billing_return.html", N_("Payment"), status=400, ok=False,
                    balance=await accounts.backend.balance(account))
    await accounts.audit(request, "billing.return", "ok", account=account, target=f"invoice:{payload.get('i')}")
    return page(request, "account_billing_return.html", N_("Thank you"), ok=True, invoice=str(payload.get("i", "")),
                balance=await accounts.backend.balance(account))


ACTION = AccountAction(
    slug="billing",
    title=N_("Bills and payments"),
    summary=N_("See what you owe, download invoices and pay a bill."),
    routes=[
        Route("/", overview, name="account_billing", methods=["GET", "HEAD"]),
        Route("/pay", pay, name="account_pay", methods=["POST"]),
        Route("/return", returned, name="account_pay_return", methods=["GET", "HEAD"]),
    ],
    menu_route="account_billing",
    audience="signed_in",
    order=30,
    keywords=[
        "invoice", "pay bill", "billing", "bills", "balance", "make a payment", "how much do I owe",
        "receipt", "outstanding payment", "account statement",
    ],
)
