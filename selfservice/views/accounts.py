"""The Account page family: the menu, the portal's own sign-in and sign-out, the routes of
every account action (each action's views live in its own ``selfservice.accounts`` module),
and the actions offered for a search (``/search``, ``/api/search``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..accounts.actions import AccountAction, mount_actions, visible_actions
from ..accounts.backend import Account
from ..accounts.discover import depends_on_sign_in, match_actions, needs_sign_in
from ..accounts.pages import client_ip, page, read, redirect, throttled, wait_message
from ..accounts.runtime import accounts_of
from ..accounts.sessions import clear_session, start_session
from ..forms import Field, validate
from ..i18n import N_, request_locale
from .rendering import absolute_root, root_path

__all__ = ["ActionLink", "account_routes", "action_json", "action_links", "home", "sign_in", "sign_out"]

SIGN_IN = "account.sign_in"
SIGN_OUT = "account.sign_out"
FIELDS = [Field("login", N_("Username or email address"), max_length=254), Field("password", N_("Password"), max_length=1024)]
WRONG = N_("That username or email address and password don't match. Check them and try again.")


async def home(request: Request) -> Response:
    accounts = accounts_of(request)
    account = await accounts.current_account(request)
    actions = visible_actions(accounts.actions, signed_in=account is not None)
    return page(request, "account_home.html", N_("Your account"), purpose=SIGN_OUT, actions=actions,
                signed_in=account is not None, own_sign_in=accounts.backend.login_url is None,
                login_url=accounts.backend.login_url)


def _safe_next(request: Request, value: str | None) -> str | None:
    """Only a path inside this portal: never another site (open redirect)."""
    root = root_path(request)
    if not value or not value.startswith(root + "/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return None
    return value


async def sign_in(request: Request) -> Response:
    accounts = accounts_of(request)
    if accounts.backend.login_url is not None:
        return RedirectResponse(accounts.backend.login_url, status_code=303)
    title = N_("Sign in")
    nxt = _safe_next(request, request.query_params.get("next"))
    if request.method != "POST":
        return page(request, "account_sign_in.html", title, purpose=SIGN_IN, next=nxt or "")
    posted = await read(request, SIGN_IN)
    nxt = _safe_next(request, posted.fields.get("next")) or nxt
    kept = posted.kept("password")
    if not posted.csrf_ok:
        return page(request, "account_sign_in.html", title, purpose=SIGN_IN, next=nxt or "", status=403, values=kept,
                    errors={"form": N_("This form had expired. We have refreshed it: please sign in again.")})
    result = validate(posted.fields, FIELDS, request_locale(request))
    if not result.ok:
        return page(request, "account_sign_in.html", title, purpose=SIGN_IN, next=nxt or "", status=422,
                    values={"login": result.raw.get("login", "")}, errors=result.errors)
    login = result.values["login"]
    wait = throttled(request, accounts, "sign_in", f"{client_ip(request)}|{login.casefold()}")
    if wait is not None:
        await accounts.audit(request, "sign_in", "rate_limited")
        return page(request, "account_sign_in.html", title, purpose=SIGN_IN, next=nxt or "", status=429,
                    values={"login": login},
                    errors={"form": wait_message(request, wait, reset=True)})
    backend = accounts.backend
    account = await (backend.get_by_email(login) if "@" in login else backend.get_by_username(login))
    # Check a password even for an unknown login, so the time taken doesn't tell them apart.
    ok = await backend.check_password(account or Account("", "", ""), result.values["password"])
    if account is None or not ok or not account.active:
        await accounts.audit(request, "sign_in", "denied", account=account if account is not None else None)
        return page(request, "account_sign_in.html", title, purpose=SIGN_IN, next=nxt or "", status=422,
                    values={"login": login}, errors={"form": WRONG})
    account = await backend.record_login(account)
    await accounts.audit(request, "sign_in", "ok", account=account)
    response = RedirectResponse(nxt or str(request.scope.get("root_path", "")).rstrip("/") + "/account",
                                status_code=303)
    response.headers["cache-control"] = "no-store"
    start_session(request, response, accounts.tokens["session"], account, accounts.settings.base_url)
    return response


async def sign_out(request: Request) -> Response:
    accounts = accounts_of(request)
    posted = await read(request, SIGN_OUT)
    account = await accounts.current_account(request)
    response = redirect(request, "account")
    if posted.csrf_ok:
        clear_session(request, response)
        await accounts.audit(request, "sign_out", "ok", account=account)
    return response


@dataclass(frozen=True, slots=True)
class ActionLink:
    """An account action offered for a search: ``sign_in`` when its page will ask for it."""

    slug: str
    title: str
    summary: str
    url: str
    sign_in: bool


async def action_links(request: Request, query: str, *, absolute: bool = False) -> list[ActionLink]:
    """The account actions ``query`` asks for (see ``accounts/discover.py``); none when the
    portal has no account pages. The backend is asked who is signed in only when a matched
    action depends on it, so most searches cost no more than a few set lookups."""
    accounts = getattr(request.scope.get("app"), "accounts", None)
    if accounts is None or not query.strip():
        return []
    found = match_actions(query, accounts.actions)
    signed_in: bool | None = None
    if depends_on_sign_in(found):
        signed_in = await accounts.current_account(request) is not None
        found = match_actions(query, accounts.actions, signed_in=signed_in)
    root = absolute_root(request) if absolute else root_path(request)
    app = request.scope["app"]
    return [ActionLink(a.slug, a.title, a.summary, root + str(app.url_path_for(a.menu_route)), needs_sign_in(a, signed_in))
            for a in found]


def action_json(links: Sequence[ActionLink]) -> list[dict[str, object]]:
    return [asdict(link) for link in links]


def account_routes(actions: Sequence[AccountAction]) -> list[BaseRoute]:
    return [
        Route("/account", home, name="account", methods=["GET", "HEAD"]),
        Route("/account/sign-in", sign_in, name="account_sign_in", methods=["GET", "HEAD", "POST"]),
        Route("/account/sign-out", sign_out, name="account_sign_out", methods=["POST"]),
        *mount_actions(actions),
    ]
