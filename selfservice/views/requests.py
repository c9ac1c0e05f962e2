"""Contact requests and complaints: the forms, suggestions while typing, and the status page.

* ``/contact`` and ``/complaint`` — topic, subject, message, email, optional order or account
  reference (a complaint also asks what outcome the customer expects). A valid submit is
  committed with its acknowledgement email in the outbox, then redirects (303) to
  ``/requests/received``, which shows the reference. A mistake comes back as 422 with every
  field as typed and the messages next to the fields.
* Suggestions ("deflection"): while the customer types the subject, ``static/suggest.js``
  asks ``GET /api/suggest?form=contact`` (or ``complaint``) for matching articles (without
  ``form`` the same path is the search box's autocomplete, see :mod:`.search`); without JavaScript the "Find answers"
  button does the same by re-showing the form. Each list shown is a ``deflections`` row;
  opening a suggestion goes through ``/suggested/{id}?to=…``, which records the click.
* ``/requests/status`` — reference + email (rate limited) opens ``/requests/{reference}``: the
  timeline, staff replies, the expected response date, a reply box, "reopen" within
  ``reopen_days`` and, once resolved, the satisfaction question. Access is remembered for a
  few hours in the signed ``ss_requests`` cookie; the link in the emails carries a signed
  key that opens the page directly.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..forms import (
    Field,
    FormResult,
    bad_idempotency_header,
    check_csrf,
    form_tokens,
    idempotency_key,
    is_bot,
    json_error,
    json_type_errors,
    read_form,
    validate,
)
from ..i18n import N_, SOURCE_LANGUAGE, request_locale, translations, translator
from ..ratelimit import client_ip
from ..references import parse as parse_reference
from ..state import portal_state
from .feedback import desk_of, form_or_400, json_guard, limited_headers, page
from .rendering import root_path, url_builder

if TYPE_CHECKING:
    from ..store.cases import RequestRecord
    from ..store.desk import Desk

__all__ = ["routes"]

log = logging.getLogger("selfservice")

ACCESS_COOKIE = "ss_requests"
ACCESS_HOURS = 8
MESSAGE_MAX = 5000
KIND_TITLES = {"contact": N_("Contact us"), "complaint": N_("Make a complaint")}


def request_fields(desk: Desk, kind: str) -> list[Field]:
    topics = tuple(desk.settings.request_topics)
    fields = [
        Field("topic", N_("Topic"), kind="choice", choices=topics),
        Field("subject", N_("Subject"), max_length=200, min_length=3),
        Field("message", N_("Your message"), kind="textarea", max_length=MESSAGE_MAX, min_length=10),
        Field("email", N_("Email address"), kind="email", max_length=254),
        Field("order_ref", N_("Order or account number"), required=False, max_length=64),
    ]
    if kind == "complaint":
        fields.insert(3, Field("outcome", N_("What would you like us to do"), kind="textarea", required=False, max_length=1000))
    return fields


def _clean_order_ref(result: FormResult, locale: str = "en") -> None:
    ref = result.values.get("order_ref")
    if ref and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._/#:-]{0,63}", ref):
        _ = translations(locale).gettext
        result.errors["order_ref"] = _("Order or account number: use only letters, digits, spaces and . _ / # : -")
        result.values.pop("order_ref", None)


# -- the contact and complaint forms --------------------------------------------------------------


def _form_page(request: Request, desk: Desk, kind: str, *, status: int = 200, result: FormResult | None = None,
               notice: str | None = None, suggestions: list[dict[str, Any]] | None = None,
               headers: dict[str, str] | None = None, idempotency: str | None = None) -> Response:
    url = url_builder(request)
    _ = translator(request).gettext
    return page(
        request, f"{kind}.html", title=_(KIND_TITLES[kind]), status=status, headers=headers, kind=kind,
        topics=[(key, _(label)) for key, label in desk.settings.request_topics.items()], values=dict(result.raw) if result else {},
        errors=result.errors if result else {}, notice=notice, suggestions=suggestions,
        form=form_tokens(request, desk.settings.secret_keys, kind, idempotency=idempotency),
        suggest_api=url("api_suggest", _query={"form": kind}),
        target_days=desk.requests.target_days(kind),
    )


async def contact(request: Request) -> Response:
    return await _request_form(request, "contact")


async def complaint(request: Request) -> Response:
    return await _request_form(request, "complaint")


async def _request_form(request: Request, kind: str) -> Response:
    desk = desk_of(request)
    if request.method in ("GET", "HEAD"):
        prefill = {"subject": request.query_params.get("subject", "")[:200]}
        return _form_page(request, desk, kind, result=FormResult({}, {}, {k: v for k, v in prefill.items() if v}))
    form = await form_or_400(request)
    key = form.get("idempotency_key")
    locale = request_locale(request)
    _ = translations(locale).gettext
    result = validate(form, request_fields(desk, kind), locale)
    _clean_order_ref(result, locale)
    if is_bot(form):
        log.info("%s form: honeypot filled, dropped", kind)
        return RedirectResponse(url_builder(request)("request_received"), status_code=303)
    if not check_csrf(request, form, desk.settings.secret_keys, kind):
        return _form_page(request, desk, kind, status=403, result=FormResult({}, {}, result.raw), idempotency=key,
                          notice=_("This form had expired, so nothing was sent yet. Please check your details and send it again."))
    if form.get("action") == "suggest":
        suggestions = await _suggest(request, desk, kind, result.raw.get("subject", ""))
        notice = None if suggestions else _("We found no articles for that subject. Please send us your message.")
        return _form_page(request, desk, kind, result=FormResult({}, {}, result.raw), suggestions=suggestions,
                          notice=notice, idempotency=key)
    if not result.ok:
        return _form_page(request, desk, kind, status=422, result=result, idempotency=key)
    limited = desk.limits.hit("requests", client_ip(request)) or desk.limits.hit("email", result.values["email"])
    if limited:
        return _form_page(request, desk, kind, status=429, result=result, notice=limited.text(locale),
                          headers=limited_headers(limited), idempotency=key)
    # The request keeps the visitor's language: the emails about it are written in it.
    created = await desk.requests.create(kind, **_create_args(result), locale=locale,
                                         idempotency_key=idempotency_key(request, form),
                                         session_hash=desk.hash(f"ip:{client_ip(request)}"))
    response = RedirectResponse(
        url_builder(request)("request_received", _query={"t": desk.signer("received").dumps(created.reference)}),
        status_code=303)
    _grant(request, response, desk, created.reference, result.values["email"])
    return response


def _create_args(result: FormResult) -> dict[str, Any]:
    v = result.values
    message = v["message"]
    if v.get("outcome"):
        message = f"{message}\n\nWhat I would like you to do:\n{v['outcome']}"
    return {"topic": v["topic"], "subject": v["subject"], "message": message[: MESSAGE_MAX + 1100],
            "email": v["email"], "order_ref": v.get("order_ref")}


async def received(request: Request) -> Response:
    """``GET /requests/received?t=…``: the reference, shown once after a submit (PRG)."""
    desk = desk_of(request)
    reference = desk.signer("received").try_loads(request.query_params.get("t"), max_age=24 * 3600)
    record = await desk.requests.get(reference, internal=False) if isinstance(reference, str) else None
    _ = translator(request).gettext
    return page(request, "thanks.html", title=_("We have received your message"), thanks_kind="request", record=record,
                status_href=url_builder(request)("request_status", reference=record.reference) if record else None)


# -- suggestions ----------------------------------------------------------------------------------


async def _suggest(request: Request, desk: Desk, form: str, subject: str, limit: int = 5) -> list[dict[str, Any]]:
    query = " ".join(subject.split())[:200]
    if len(query) < 3:
        return []
    state = portal_state(request)
    try:
        search = partial(state.index.search, query, limit=limit, language=request_locale(request))
        found = await run_in_threadpool(search)
    except Exception:  # noqa: BLE001 - suggestions are a nicety; the form must keep working
        log.exception("suggestions failed for %r", query)
        return []
    hits = [h for h in found.hits if state.library.document(h.slug) is not None][:limit]
    if not hits:
        return []
    session = desk.hash(f"ip:{client_ip(request)}")
    event = await desk.feedback.suggestion_shown(form, query.lower(), [h.slug for h in hits], session)
    url = url_builder(request)
    out = []
    for hit in hits:
        doc = state.library.document(hit.slug)
        assert doc is not None
        out.append({"slug": hit.slug, "title": doc.title, "summary": doc.summary,
                    "url": url("suggested", event=event, _query={"to": hit.slug}),
                    "page_url": root_path(request) + doc.url_path})
    return out


async def api_suggest(request: Request) -> Response:
    """``GET /api/suggest?q=…&form=contact``: articles that may answer the subject being typed.

    Without ``form`` (or with ``form=search``) it is the search box's autocomplete instead
    (:func:`selfservice.views.search.autocomplete`: from memory, nothing recorded).
    """
    form = request.query_params.get("form", "search")
    from .search import parse_int

    parse_int(request, "limit", 8, 1, 20)  # autocomplete's; checked for every form (a bad one is a 400)
    if form == "search":
        from .search import autocomplete

        return await autocomplete(request)
    desk = desk_of(request)
    if form not in KIND_TITLES:
        return json_error(400, "form must be search, contact or complaint.")
    q = request.query_params.get("q")
    if q is None:
        return json_error(400, "Give the subject typed so far as q.")
    if len(q) > 1000:
        return json_error(400, "The subject is too long.")
    limited = desk.limits.hit("feedback", client_ip(request))
    if limited:
        return json_error(429, limited.message, headers=limited_headers(limited))
    from ..forms import clean_text

    suggestions = await _suggest(request, desk, form, clean_text(q))
    response = JSONResponse({"query": q, "suggestions": suggestions})
    response.headers["cache-control"] = "no-store"
    return response


async def suggested(request: Request) -> Response:
    """``GET /suggested/{event}?to=<slug>``: record that a suggestion was opened, then go there."""
    desk = desk_of(request)
    state = portal_state(request)
    slug = request.query_params.get("to", "")
    doc = state.library.document(slug) if len(slug) <= 300 else None
    if doc is None:
        raise HTTPException(404, N_("That article is no longer here. Try searching for it."))
    event = request.path_params["event"]
    if 0 < event < 2**62 and not desk.limits.hit("feedback", client_ip(request)):
        await desk.feedback.suggestion_clicked(event, slug)
    return RedirectResponse(root_path(request) + doc.url_path, status_code=303)


# -- status lookup and the customer's side of the timeline ---------------------------------------


def _granted(request: Request, desk: Desk) -> list[list[str]]:
    data = desk.signer("request-session").try_loads(request.cookies.get(ACCESS_COOKIE), max_age=ACCESS_HOURS * 3600)
    if isinstance(data, list):
        return [x for x in data if isinstance(x, list) and len(x) == 2 and all(isinstance(v, str) for v in x)][:5]
    return []


def _grant(request: Request, response: Response, desk: Desk, reference: str, email: str) -> None:
    pairs = [p for p in _granted(request, desk) if p[0] != reference]
    pairs = [[reference, desk.hash(email.lower(), 8)], *pairs][:5]
    response.set_cookie(ACCESS_COOKIE, desk.signer("request-session").dumps(pairs), max_age=ACCESS_HOURS * 3600,
                        path=(root_path(request) or "") + "/", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def _lookup_fields() -> list[Field]:
    return [Field("reference", N_("Reference"), max_length=40), Field("email", N_("Email address"), kind="email", max_length=254)]


def _lookup_page(request: Request, desk: Desk, *, status: int = 200, result: FormResult | None = None,
                 notice: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return page(request, "request_status.html", title=translator(request).gettext("Check your request"), status=status, headers=headers,
                mode="lookup", values=dict(result.raw) if result else {}, errors=result.errors if result else {},
                notice=notice, form=form_tokens(request, desk.settings.secret_keys, "lookup"))


async def lookup(request: Request) -> Response:
    """``GET``/``POST /requests/status``: reference + email."""
    desk = desk_of(request)
    if request.method in ("GET", "HEAD"):
        given = parse_reference(request.query_params.get("reference", "")) or ""
        return _lookup_page(request, desk, result=FormResult({}, {}, {"reference": given} if given else {}))
    form = await form_or_400(request)
    locale = request_locale(request)
    _ = translations(locale).gettext
    result = validate(form, _lookup_fields(), locale)
    if not check_csrf(request, form, desk.settings.secret_keys, "lookup"):
        return _lookup_page(request, desk, status=403, result=FormResult({}, {}, result.raw),
                            notice=_("This form had expired. Please try again."))
    reference = parse_reference(result.values.get("reference", "")) if "reference" in result.values else None
    if "reference" in result.values and reference is None:
        result.errors["reference"] = _("Check the reference: it looks like %(example)s, as in our email to you") % {"example": "C-7K4M-X9TH"}
    if not result.ok:
        return _lookup_page(request, desk, status=422, result=result)
    limited = desk.limits.hit("lookup", client_ip(request))
    if limited:
        return _lookup_page(request, desk, status=429, result=result, notice=limited.text(locale),
                            headers=limited_headers(limited))
    assert reference is not None
    record = await desk.requests.get(reference, email=result.values["email"], internal=False)
    if record is None:
        return _lookup_page(request, desk, status=404, result=result,
                            notice=_("We could not find a request with that reference and email address. "
                                     "Please check both against the email we sent you."))
    response = RedirectResponse(url_builder(request)("request_status", reference=reference), status_code=303)
    _grant(request, response, desk, reference, record.email)
    return response


async def _record_for(request: Request, desk: Desk) -> RequestRecord | Response:
    """The request in the URL if this visitor may see it, else a redirect to the lookup form."""
    reference = parse_reference(request.path_params["reference"])
    url = url_builder(request)
    if reference is None:
        raise HTTPException(404, N_("That is not one of our request references."))
    key = desk.check_access_key(request.query_params.get("key"))
    grants = {r: h for r, h in _granted(request, desk)}
    wanted = key[1] if key and key[0] == reference else grants.get(reference)
    record = await desk.requests.get(reference, internal=False) if wanted else None
    if record is None or desk.hash(record.email.lower(), 8) != wanted:
        return RedirectResponse(url("request_lookup", _query={"reference": reference}), status_code=303)
    if key and request.method in ("GET", "HEAD"):  # trade the key in the link for the cookie
        response = RedirectResponse(url("request_status", reference=reference), status_code=303)
        _grant(request, response, desk, reference, record.email)
        return response
    return record


def status_page(request: Request, desk: Desk, record: RequestRecord, *, status: int = 200,
                result: FormResult | None = None, notice: str | None = None, sent: str | None = None,
                headers: dict[str, str] | None = None) -> Response:
    from ..store.cases import STATUS_LABELS, STATUSES

    now = desk.clock()
    reopen_until = record.reopen_until(desk.settings.reopen_days)
    reached = {e.status for e in record.events if e.kind == "status" and e.status}
    _ = translator(request).gettext
    labels = {key: _(label) for key, label in STATUS_LABELS.items()}
    return page(
        request, "request_status.html", title=_("Request %(reference)s") % {"reference": record.reference}, status=status,
        headers=headers, mode="view", record=record, labels=labels,
        steps=[(s, labels[s], s == record.status, s in reached) for s in STATUSES],
        topic_label=_(desk.settings.request_topics.get(record.topic, record.topic)),
        overdue=record.overdue(now), can_reopen=reopen_until is not None and now <= reopen_until,
        reopen_until=reopen_until, values=dict(result.raw) if result else {}, errors=result.errors if result else {},
        notice=notice, sent=sent, form=form_tokens(request, desk.settings.secret_keys, "request-reply"),
    )


async def request_status(request: Request) -> Response:
    desk = desk_of(request)
    found = await _record_for(request, desk)
    if isinstance(found, Response):
        return found
    return status_page(request, desk, found, sent=request.query_params.get("sent"))


_ACTIONS = {
    "reply": [Field("body", N_("Your message"), kind="textarea", max_length=MESSAGE_MAX, min_length=2)],
    "reopen": [Field("body", N_("Why are you reopening this request"), kind="textarea", max_length=MESSAGE_MAX, min_length=2)],
    "rate": [Field("score", N_("Satisfaction"), kind="int", minimum=1, maximum=5),
             Field("comment", N_("Comment"), kind="textarea", required=False, max_length=2000)],
}


async def request_action(request: Request) -> Response:
    """``POST /requests/{reference}/{action}``: reply, reopen or rate."""
    desk = desk_of(request)
    action = request.path_params["action"]
    if action not in _ACTIONS:
        raise HTTPException(404, N_("There is no such action."))
    found = await _record_for(request, desk)
    if isinstance(found, Response):
        return found
    record = found
    form = await form_or_400(request)
    locale = request_locale(request)
    _ = translations(locale).gettext
    result = validate(form, _ACTIONS[action], locale)
    if is_bot(form):
        return RedirectResponse(url_builder(request)("request_status", reference=record.reference), status_code=303)
    if not check_csrf(request, form, desk.settings.secret_keys, "request-reply"):
        return status_page(request, desk, record, status=403, result=FormResult({}, {}, result.raw),
                           notice=_("This form had expired, so nothing was sent. Please try again."))
    if not result.ok:
        return status_page(request, desk, record, status=422, result=result)
    limited = desk.limits.hit("requests", client_ip(request))
    if limited:
        return status_page(request, desk, record, status=429, result=result, notice=limited.text(locale),
                           headers=limited_headers(limited))
    from ..store.cases import TransitionError

    try:
        if action == "reply":
            await desk.requests.customer_reply(record.reference, record.email, result.values["body"])
        elif action == "reopen":
            await desk.requests.reopen(record.reference, record.email, result.values["body"])
        else:
            await desk.requests.rate(record.reference, record.email, result.values["score"], result.values.get("comment"))
    except TransitionError as exc:
        return status_page(request, desk, record, status=409, result=result, notice=_(str(exc)))  # marked N_ where raised
    url = url_builder(request)("request_status", reference=record.reference, _query={"sent": action})
    return RedirectResponse(url + "#ss-timeline", status_code=303)


# -- JSON -----------------------------------------------------------------------------------------


async def api_create(request: Request) -> Response:
    """``POST /api/requests`` ``{"kind", "topic", "subject", "message", "email", "order_ref"?}``."""
    desk = desk_of(request)
    refused = json_guard(request)
    if refused is not None:
        return refused
    try:
        form = await read_form(request)
    except ValueError as exc:
        return json_error(400, str(exc))
    bad_key = bad_idempotency_header(request)
    if bad_key:
        return json_error(400, bad_key)
    kind = form.get("kind", "contact")
    if kind not in KIND_TITLES:
        return json_error(422, "Please check the request.", {"kind": "Choose contact or complaint."})
    # The widget passes ?lang=: its field messages and the request's emails are in that language.
    asked = "lang" in request.query_params
    locale = request_locale(request) if asked else portal_state(request).settings.locale
    result = validate(form, request_fields(desk, kind), locale if asked else SOURCE_LANGUAGE)
    _clean_order_ref(result, locale)
    result.errors.update(json_type_errors(request, {name: str for name in (
        "kind", "topic", "subject", "message", "outcome", "email", "order_ref")}))
    if not result.ok:
        return json_error(422, "Please check the request.", result.errors)
    limited = desk.limits.hit("requests", client_ip(request)) or desk.limits.hit("email", result.values["email"])
    if limited:
        message = limited.text(locale) if asked else limited.message
        return json_error(429, message, headers=limited_headers(limited))
    created = await desk.requests.create(kind, **_create_args(result), locale=locale,
                                         idempotency_key=idempotency_key(request, form),
                                         session_hash=desk.hash(f"ip:{client_ip(request)}"))
    record = await desk.requests.get(created.reference, internal=False)
    assert record is not None
    response = JSONResponse({
        "reference": record.reference, "kind": record.kind, "status": record.status, "created": created.created,
        "due_at": record.due_at.isoformat() if record.due_at else None,
    }, status_code=201 if created.created else 200)
    response.headers["cache-control"] = "no-store"
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/contact", contact, name="contact", methods=["GET", "HEAD", "POST"]),
        Route("/complaint", complaint, name="complaint", methods=["GET", "HEAD", "POST"]),
        Route("/requests/received", received, name="request_received", methods=["GET", "HEAD"]),
        Route("/requests/status", lookup, name="request_lookup", methods=["GET", "HEAD", "POST"]),
        Route("/requests/{reference}", request_status, name="request_status", methods=["GET", "HEAD"]),
        Route("/requests/{reference}/{action}", request_action, name="request_action", methods=["POST"]),
        Route("/suggested/{event:int}", suggested, name="suggested", methods=["GET", "HEAD"]),
        Route("/api/suggest", api_suggest, name="api_suggest", methods=["GET", "HEAD"]),
        Route("/api/requests", api_create, name="api_requests", methods=["POST"]),
    ]
