"""Order and request status: look one up without signing in, or see them all when signed in.

Signed out, a customer proves they know an order with its number *and* the email address
or postcode it was placed with. Wrong number and wrong proof get the same answer, the proof
is compared in constant time and lookups are rate limited per IP, so the form cannot be
used to find out which order numbers exist. Each order shows its timeline and "what happens
next" (the backend's ``next_step``, else a sentence per status from :data:`NEXT_STEPS`).
"""

from __future__ import annotations

import hmac
import re

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..forms import Field, validate
from ..i18n import N_, request_locale, translator
from ..store import tables
from ..views.rendering import url_builder
from .actions import AccountAction
from .backend import Account, Order
from .pages import page, read, require_account, throttled, wait_message
from .runtime import Accounts, accounts_of

__all__ = ["ACTION", "NEXT_STEPS", "next_step", "proof_matches"]

PURPOSE = "account.orders"
FIELDS = [
    Field("number", N_("Order number"), max_length=32, hint=N_("It starts with LH- and is in your confirmation email.")),
    Field("proof", N_("Email address or postcode"), max_length=254),
]
NEXT_STEPS = {
    "placed": N_("We will take payment and start packing your order, usually within a working day."),
    "paid": N_("Your order is waiting to be packed. We'll email you when it leaves our warehouse."),
    "packed": N_("Your parcel is ready and will be handed to the courier on the next collection."),
    "shipped": N_("Your parcel is on its way. Most deliveries arrive within 2 working days of shipping."),
    "delivered": N_("Nothing more to do. If something is wrong with your order, you can start a return within 30 days."),
    "cancelled": N_("Nothing more to do. Any payment is refunded within 5 working days."),
    "refunded": N_("The refund is on its way to your bank; it can take up to 5 working days to show."),
}
NOT_FOUND = N_("We couldn't find an order with that number and email address or postcode. "
                "Check both against your confirmation email.")


def next_step(order: Order) -> str:
    return order.next_step or NEXT_STEPS.get(order.status, N_("We'll email you as soon as anything changes."))


def _norm_postcode(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def proof_matches(order: Order, proof: str) -> bool:
    """Does ``proof`` (an email address or a postcode) match the order? Constant time."""
    email_ok = hmac.compare_digest(proof.strip().casefold().encode(), order.email.strip().casefold().encode())
    code = _norm_postcode(proof)
    postcode_ok = bool(order.postcode) and hmac.compare_digest(code.encode(), _norm_postcode(order.postcode).encode())
    return email_ok or postcode_ok


async def _requests_of(accounts: Accounts, account: Account) -> list[dict[str, object]]:
    """The customer's contact requests and complaints from the portal's store, newest first."""
    r = tables.requests
    store = await accounts.store()
    async with store.read() as conn:
        rows = (await conn.execute(
            select(r.c.reference, r.c.kind, r.c.status, r.c.subject, r.c.created_at)
            .where(r.c.email == account.email).order_by(r.c.created_at.desc()).limit(50)
        )).mappings().all()
    return [dict(row) for row in rows]


async def overview(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await accounts.current_account(request)
    if account is None:
        return page(request, "account_orders_lookup.html", N_("Track an order"), purpose=PURPOSE)
    orders = await accounts.backend.orders(account)
    cases = await _requests_of(accounts, account)
    await accounts.audit(request, "orders.list", "ok", account=account, orders=len(orders))
    return page(request, "account_orders.html", N_("Your orders"), orders=orders, cases=cases, next_step=next_step)


async def lookup(request: Request) -> Response:
    accounts = accounts_of(request)
    posted = await read(request, PURPOSE)
    title = N_("Track an order")
    if not posted.csrf_ok:
        return page(request, "account_orders_lookup.html", title, purpose=PURPOSE, status=403, values=posted.kept(),
                    errors={"form": N_("This form had expired. We have refreshed it: please send it again.")})
    wait = throttled(request, accounts, "account")
    if wait is not None:
        await accounts.audit(request, "order.lookup", "rate_limited")
        return page(request, "account_orders_lookup.html", title, purpose=PURPOSE, status=429, values=posted.kept(),
                    errors={"form": wait_message(request, wait)})
    result = validate(posted.fields, FIELDS, request_locale(request))
    if not result.ok:
        return page(request, "account_orders_lookup.html", title, purpose=PURPOSE, status=422, values=result.raw,
                    errors=result.errors)
    order = await accounts.backend.find_order(result.values["number"])
    if order is None or not proof_matches(order, result.values["proof"]) or posted.bot:
        await accounts.audit(request, "order.lookup", "not_found")
        return page(request, "account_orders_lookup.html", title, purpose=PURPOSE, status=422, values=result.raw,
                    errors={"form": NOT_FOUND})
    await accounts.audit(request, "order.lookup", "ok", target=f"order:{order.number}")
    title = translator(request).gettext("Order %(number)s") % {"number": order.number}
    return page(request, "account_order.html", title, order=order, next_step=next_step(order))


async def detail(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await require_account(request)
    if isinstance(account, Response):
        return account
    number = request.path_params["number"][:32]
    order = await accounts.backend.find_order(number)
    if order is None or order.account_id != account.id:
        await accounts.audit(request, "order.lookup", "not_found", account=account)
        return page(request, "account_orders_lookup.html", N_("Track an order"), purpose=PURPOSE, status=404,
                    errors={"form": NOT_FOUND})
    title = translator(request).gettext("Order %(number)s") % {"number": order.number}
    return page(request, "account_order.html", title, order=order, next_step=next_step(order),
                crumbs=[(N_("Your orders"), url_builder(request)("account_orders")), (title, None)])


ACTION = AccountAction(
    slug="orders",
    title=N_("Track an order"),
    summary=N_("Where your order is and what happens next. No sign-in needed."),
    routes=[
        Route("/", overview, name="account_orders", methods=["GET", "HEAD"]),
        Route("/", lookup, name="account_order_lookup", methods=["POST"]),
        Route("/{number}", detail, name="account_order", methods=["GET", "HEAD"]),
    ],
    menu_route="account_orders",
    audience="everyone",
    order=10,
    keywords=[
        "where is my order", "track order", "tracking", "order status", "delivery status", "parcel",
        "has my order shipped", "order arrive", "order not arrived", "late delivery", "missing delivery",
        "dispatched", "order number",
    ],
)
