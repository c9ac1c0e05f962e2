"""The staff inbox: contact requests and complaints, one request's timeline, and staff actions.

* ``GET /staff/`` (``staff:inbox``) — the queue, most urgent first (open before closed, then
  the earliest response date), filtered by a plain GET form that works without JavaScript:
  ``status`` (``open``, ``any`` or one status), ``kind``, ``topic``, ``overdue``, ``assignee``
  (a name, ``unassigned`` or ``me``), ``q`` (reference, subject or email), ``sort`` and
  ``page``. A filter value the inbox does not know is a 400 page that says which one; it is
  never guessed at, so a bookmarked URL never silently shows something else.
* ``GET /staff/requests/{reference}`` (``staff:inbox_request``) — everything about one
  request: customer details, dates, the whole timeline with internal notes marked as such,
  and the forms below. An unknown reference is a 404.
* ``POST /staff/requests/{reference}/{action}`` (``staff:inbox_action``) — ``reply`` (mailed to
  the customer through the outbox and shown on their status page), ``status``, ``assign``,
  ``note`` (internal). Each needs the ``staff`` CSRF token, counts against the
  ``rate_limit_feedback`` budget per staff member, is written to ``audit_log`` by the store in
  the same transaction, and ends in a redirect back to the request (POST-redirect-GET). A
  change the request's status does not allow comes back as 422 with the reason, and is
  logged as refused.

Access is :func:`.staff.staff_only`'s: 403 without ``Settings.is_staff`` saying yes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..forms import Field, FormResult, check_csrf, clean_text, form_tokens, validate
from ..i18n import N_, translator
from ..ratelimit import client_ip
from ..references import parse as parse_reference
from .feedback import desk_of, form_or_400, limited_headers, page
from .rendering import url_builder
from .staff import staff_only

if TYPE_CHECKING:
    from ..store.cases import RequestRecord
    from ..store.desk import Desk
    from ..store.inbox import InboxFilter

__all__ = ["routes"]

PURPOSE = "staff"
PER_PAGE = 25
MAX_PAGE = 10_000
MESSAGE_MAX = 5000
ACTIONS = ("reply", "status", "assign", "note")
STATUS_NAMES = {
    "received": N_("Received"),
    "acknowledged": N_("Acknowledged"),
    "in_progress": N_("In progress"),
    "waiting_for_customer": N_("Waiting for the customer"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
"""Status names as staff read them (the customer's page says "Waiting for your reply")."""


# -- the list -------------------------------------------------------------------------------------


def parse_filter(query: dict[str, str], topics: dict[str, str], actor: str,
                 gettext: Callable[[str], str]) -> tuple[InboxFilter | None, dict[str, str]]:
    """The inbox filter from the query string, or ``None`` and a message per bad parameter."""
    from ..store.cases import STATUSES
    from ..store.inbox import SORTS, InboxFilter

    _ = gettext
    errors: dict[str, str] = {}
    status = query.get("status") or "open"
    if status not in ("open", "any", *STATUSES):
        errors["status"] = _("Status: choose open, any or one of the statuses.")
    kind = query.get("kind") or None
    if kind not in (None, "contact", "complaint"):
        errors["kind"] = _("Kind: choose contact or complaint.")
    topic = query.get("topic") or None
    if topic is not None and topic not in topics:
        errors["topic"] = _("Topic: choose one of the topics.")
    overdue = query.get("overdue", "")
    if overdue not in ("", "1", "on", "yes"):
        errors["overdue"] = _("Overdue: leave it out, or give 1.")
    # Control characters (a NUL is an error to PostgreSQL) go, like in every form field.
    assignee: str | None = " ".join(clean_text(query.get("assignee", "")).split()) or None
    if assignee == "unassigned":
        assignee = ""
    elif assignee == "me":
        assignee = actor
    elif assignee is not None and len(assignee) > 120:
        errors["assignee"] = _("Assignee: a name has at most 120 characters.")
    text = clean_text(query.get("q", ""))
    if len(text) > 200:
        errors["q"] = _("Search: use at most 200 characters.")
    sort = query.get("sort") or "urgent"
    if sort not in SORTS:
        errors["sort"] = _("Order: choose most urgent, newest or recently updated.")
    raw_page = query.get("page") or "1"
    number = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) <= 6 else 0
    if not 1 <= number <= MAX_PAGE:
        errors["page"] = _("Page: give a whole number from 1.")
    if errors:
        return None, errors
    return InboxFilter(status=status, kind=kind, topic=topic, overdue=bool(overdue), assignee=assignee,
                       text=text.strip(), sort=sort, page=number, per_page=PER_PAGE), {}


@staff_only
async def inbox(request: Request) -> Response:
    """``GET /staff/``: the filtered queue."""
    desk = desk_of(request)
    _ = translator(request).gettext
    actor = request.state.staff_actor
    query = dict(request.query_params)
    topics = dict(desk.settings.request_topics)
    view, errors = parse_filter(query, topics, actor, _)
    found = await desk.requests.inbox(view) if view is not None else None
    url = url_builder(request)
    kept = {k: v for k, v in query.items() if k in ("status", "kind", "topic", "overdue", "assignee", "q", "sort") and v}

    def page_href(number: int) -> str:
        return url("staff:inbox", _query={**kept, "page": str(number)})

    from ..store.cases import OPEN_STATUSES

    return page(
        request, "staff/inbox.html", title=_("Inbox"), status=400 if errors else 200, staff_nav="inbox",
        found=found, errors=errors, values=query, topics=topics, statuses=list(STATUS_NAMES.items()),
        labels=STATUS_NAMES, open_statuses=OPEN_STATUSES,
        open_count=sum(found.counts.get(s, 0) for s in OPEN_STATUSES) if found else 0,
        assignees=await desk.requests.assignees(), now=desk.clock(), actor=actor, page_href=page_href, status_href=lambda s: url("staff:inbox", _query={"status": s}),
    )


# -- one request ----------------------------------------------------------------------------------


async def _record(request: Request, desk: Desk) -> RequestRecord:
    reference = parse_reference(request.path_params["reference"])
    record = await desk.requests.get(reference) if reference else None
    if record is None:
        raise HTTPException(404, "There is no request with that reference.")
    return record


def _request_page(request: Request, desk: Desk, record: RequestRecord, *, status: int = 200,
                  result: FormResult | None = None, failed: str | None = None, notice: str | None = None,
                  headers: dict[str, str] | None = None) -> Response:
    from ..store.cases import next_statuses

    _ = translator(request).gettext
    now = desk.clock()
    return page(
        request, "staff/request.html", title=_("Request %(reference)s") % {"reference": record.reference},
        status=status, headers=headers, staff_nav="inbox", record=record, labels=STATUS_NAMES, now=now,
        overdue=record.overdue(now), topic_label=desk.settings.request_topics.get(record.topic, record.topic),
        next_statuses=next_statuses(record.status),
        values=dict(result.raw) if result else {}, errors=result.errors if result else {}, failed=failed,
        notice=notice, done=request.query_params.get("done"), actor=request.state.staff_actor,
        form=form_tokens(request, desk.settings.secret_keys, PURPOSE),
    )


@staff_only
async def request_page(request: Request) -> Response:
    """``GET /staff/requests/{reference}``."""
    desk = desk_of(request)
    record = await _record(request, desk)
    return _request_page(request, desk, record)


def _fields(action: str, statuses: tuple[str, ...]) -> list[Field]:
    if action == "reply":
        return [Field("reply", "Reply", kind="textarea", max_length=MESSAGE_MAX, min_length=2),
                Field("reply_status", "Then set the status", kind="choice", choices=("", *statuses), required=False)]
    if action == "status":
        return [Field("status", "New status", kind="choice", choices=statuses)]
    if action == "assign":
        return [Field("assignee", "Assign to", required=False, max_length=120),
                Field("to", "Assign", kind="choice", choices=("name", "me", "none"), required=False)]
    return [Field("note", "Internal note", kind="textarea", max_length=MESSAGE_MAX, min_length=2)]


@staff_only
async def request_action(request: Request) -> Response:
    """``POST /staff/requests/{reference}/{action}``: reply, status, assign or note."""
    from ..store.cases import STATUSES, TransitionError

    desk = desk_of(request)
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise HTTPException(404, "There is no such staff action.")
    record = await _record(request, desk)
    _ = translator(request).gettext
    actor: str = request.state.staff_actor
    form = await form_or_400(request)
    result = validate(form, _fields(action, STATUSES))
    if not check_csrf(request, form, desk.settings.secret_keys, PURPOSE):
        return _request_page(request, desk, record, status=403, result=FormResult({}, {}, result.raw), failed=action,
                             notice=_("This form had expired, so nothing was changed. Please try again."))
    if action == "assign" and result.ok and result.values.get("to", "name") == "name" and not result.values.get("assignee"):
        result.errors["assignee"] = _("Enter a name, or choose “Assign to me” or “Unassign”.")
    if not result.ok:
        return _request_page(request, desk, record, status=422, result=result, failed=action)
    limited = desk.limits.hit("feedback", f"staff:{actor}:{client_ip(request)}")
    if limited:
        return _request_page(request, desk, record, status=429, result=result, failed=action, notice=limited.message,
                             headers=limited_headers(limited))
    v = result.values
    try:
        if action == "reply":
            await desk.requests.update_status(record.reference, v.get("reply_status") or record.status,
                                              reply=v["reply"], actor=actor)
        elif action == "status":
            if v["status"] == record.status:
                raise TransitionError(_("The request is already in that status."))
            await desk.requests.update_status(record.reference, v["status"], actor=actor)
        elif action == "assign":
            to = v.get("to") or "name"
            name = actor if to == "me" else None if to == "none" else v["assignee"]
            await desk.requests.assign(record.reference, name, actor=actor)
        else:
            await desk.requests.add_note(record.reference, v["note"], actor=actor)
    except TransitionError as exc:
        await desk.requests.audit_refused(record.reference, f"request.{action}", "refused", str(exc), actor=actor)
        return _request_page(request, desk, record, status=422, result=result, failed=action, notice=str(exc))
    except LookupError:  # deleted between the read and the write
        raise HTTPException(404, "There is no request with that reference.") from None
    href = url_builder(request)("staff:inbox_request", reference=record.reference, _query={"done": action})
    return RedirectResponse(href + "#ss-timeline", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/", inbox, name="inbox", methods=["GET", "HEAD"]),
        Route("/requests/{reference}", request_page, name="inbox_request", methods=["GET", "HEAD"]),
        Route("/requests/{reference}/{action}", request_action, name="inbox_action", methods=["POST"]),
    ]
