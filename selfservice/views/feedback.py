"""Feedback pages: "Was this helpful?" votes and CSAT/NPS surveys, as forms and as JSON.

"Was this helpful?" sits on cached article and chapter pages (``_helpful.html``), so its
yes/no form carries nothing per visitor: its POST is accepted from our own pages only
(:func:`~selfservice.csrf.same_origin`). Without JavaScript it is POST-redirect-GET: the
vote is committed, then ``/feedback/thanks`` (not cached, per visitor) thanks them, shows
their answer with a way to change it, and offers the optional reason and comment (a
CSRF-protected form). With JavaScript, ``static/feedback.js`` sends the same to
``POST /api/feedback`` and shows the follow-up in place. One vote per visitor and page: the
visitor is a random id in the signed ``ss_visitor`` cookie, stored only as a keyed hash.

Surveys: ``/survey/csat`` and ``/survey/nps`` (usually reached by ``portal.survey_link``,
whose signed token carries the context stored with the answer and makes a second submit
change nothing), and ``POST /api/surveys/{kind}``.
"""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..forms import (
    Field,
    bad_idempotency_header,
    json_type_errors,
    FormResult,
    check_csrf,
    clean_text,
    form_tokens,
    idempotency_key,
    is_bot,
    json_error,
    read_form,
    same_origin,
    set_csrf_cookie,
    validate,
)
from ..i18n import N_, remember_choice, request_locale, translations, translator
from ..ratelimit import Limited, client_ip
from ..state import portal_state
from .rendering import PageMeta, render, root_path, url_builder

if TYPE_CHECKING:
    from ..store.desk import Desk

__all__ = ["REASONS", "routes"]

log = logging.getLogger("selfservice")

VISITOR_COOKIE = "ss_visitor"
VISITOR_MAX_AGE = 365 * 86400
REASONS = {
    "yes": {"clear": N_("It was easy to follow"), "solved": N_("It solved my problem"),
            "quick": N_("I found the answer quickly"), "other": N_("Something else")},
    "no": {"unclear": N_("It was hard to understand"), "wrong": N_("Something is wrong or out of date"),
           "missing": N_("It did not answer my question"), "other": N_("Something else")},
}
"""The reasons offered after a vote, by answer; keys are what is stored, labels are English
(templates show them translated)."""


@dataclass(frozen=True)
class SurveySpec:
    low: int
    high: int
    title: str
    question: str
    low_label: str
    high_label: str
    why: str


SURVEYS = {
    "csat": SurveySpec(1, 5, N_("How satisfied are you?"), N_("Overall, how satisfied are you with the help you received?"),
                       N_("Very dissatisfied"), N_("Very satisfied"), N_("What could we do better?")),
    "nps": SurveySpec(0, 10, N_("Would you recommend us?"), N_("How likely are you to recommend us to a friend or colleague?"),
                      N_("Not at all likely"), N_("Extremely likely"), N_("What is the main reason for your score?")),
}
COMMENT_MAX = 2000


def desk_of(request: Request) -> Desk:
    desk = getattr(request.scope.get("app"), "desk", None)
    if desk is None:  # pragma: no cover - only if a host strips scope["app"]
        raise RuntimeError("selfservice views must be served by the Portal app")
    if desk.seen_root is None and (desk.settings.demo or desk.settings.debug) and request.url.hostname in _LOOPBACK:
        # Links in mail come from Settings.base_url; only a local demo may use its own Host
        # header (anyone can send any Host header: that would put their links in our emails).
        desk.seen_root = f"{request.url.scheme}://{request.url.netloc}{root_path(request)}"
    return desk


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def own_origins(request: Request) -> list[str]:
    """Origins that count as "our own pages": the request's, base_url's and the CORS allow list."""
    settings = portal_state(request).settings
    extra = list(settings.allowed_origins)
    if settings.base_url:
        parts = urlsplit(settings.base_url)
        extra.append(f"{parts.scheme}://{parts.netloc}")
    return extra


def page(request: Request, template: str, *, title: str, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> Response:
    """A per-visitor HTML page: never cached, CSRF cookie attached when a form needed one."""
    prepared = render(request, template, page=PageMeta(title, noindex=True), status=status, **context)
    response = Response(prepared.body, status_code=status, media_type=prepared.media_type, headers=headers)
    for name, value in prepared.headers:  # Content-Language, and Vary when the portal has languages
        response.headers.setdefault(name, value)
    remember_choice(request, response)
    response.headers["cache-control"] = "no-store"
    set_csrf_cookie(request, response)
    return response


def limited_headers(limited: Limited) -> dict[str, str]:
    return {"retry-after": str(limited.retry_after)}


async def form_or_400(request: Request, *, api: bool = False) -> dict[str, str]:
    try:
        return await read_form(request)
    except ValueError as exc:
        raise HTTPException(415 if "send the form as" in str(exc) else 400, str(exc)) from None


def json_guard(request: Request) -> Response | None:
    """JSON writes: ``Content-Type: application/json`` (so other sites need a CORS preflight,
    which only ``allowed_origins`` pass) and, if the browser names an origin, one of ours."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return json_error(415, "Send a JSON object with Content-Type: application/json.")
    origin = request.headers.get("origin")
    if origin is not None and not same_origin(request, own_origins(request)):
        return json_error(403, "This origin may not send feedback.")
    return None


# -- pages: which article or chapter a vote is about ---------------------------------------------


@dataclass(frozen=True)
class PageRef:
    kind: str  # article or chapter
    slug: str
    title: str
    href: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.slug}"


def page_ref(request: Request, value: str | None) -> PageRef | None:
    """The article or chapter named by a ``page`` field (``article:<slug>``, ``chapter:<m>/<v>/<c>``)."""
    if not value or len(value) > 300:
        return None
    kind, _, slug = value.partition(":")
    lib = portal_state(request).library
    doc = lib.articles.get(slug) if kind == "article" else lib.chapters.get(slug) if kind == "chapter" else None
    if doc is None:
        return None
    return PageRef(kind, slug, doc.title, root_path(request) + doc.url_path)


def visitor(request: Request, desk: Desk) -> tuple[str | None, str | None]:
    """(visitor id from the signed cookie, or None; the cookie value to set, or None).

    The cookie is ``<id>.<HMAC>`` (:class:`~selfservice.csrf.IdSigner`). One from before
    that (an itsdangerous timed token) still names its visitor, who gets the new form back.
    """
    signed = request.cookies.get(VISITOR_COOKIE)
    if not signed:
        return None, None
    vid = desk.id_signer("visitor").try_loads(signed)
    if vid is None and signed.count(".") >= 2:  # the earlier format: [.]payload.timestamp.signature
        old = desk.signer("visitor").try_loads(signed)
        if isinstance(old, str) and 16 <= len(old) <= 64:
            return old, desk.id_signer("visitor").dumps(old)
    if vid is not None and 16 <= len(vid) <= 64:
        return vid, None
    return None, None


def new_visitor(desk: Desk) -> tuple[str, str]:
    vid = secrets.token_urlsafe(18)
    return vid, desk.id_signer("visitor").dumps(vid)


def set_visitor_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(VISITOR_COOKIE, value, max_age=VISITOR_MAX_AGE, path=(root_path(request) or "") + "/",
                        httponly=True, samesite="lax", secure=request.scope.get("scheme") == "https")


@functools.cache
def _details_fields(answer: str) -> tuple[Field, ...]:
    return (
        Field("reason", N_("Reason"), kind="choice", required=False, choices=tuple(REASONS.get(answer, REASONS["no"]))),
        Field("comment", N_("Comment"), kind="textarea", required=False, max_length=COMMENT_MAX),
    )


# -- "Was this helpful?" --------------------------------------------------------------------------


async def vote(request: Request) -> Response:
    """``POST /feedback/vote``: the yes/no buttons, without JavaScript."""
    desk = desk_of(request)
    if not same_origin(request, own_origins(request)):
        raise HTTPException(403, N_("Your vote could not be accepted from this page. Please vote on the article itself."))
    form = await form_or_400(request)
    ref = page_ref(request, form.get("page"))
    if ref is None:
        raise HTTPException(404, N_("We could not find the page you voted on. It may have moved."))
    answer = form.get("helpful", "").strip().lower()
    if answer not in REASONS:
        raise HTTPException(422, N_("Please choose Yes or No."))
    limited = desk.limits.hit("feedback", client_ip(request))
    if limited:
        raise HTTPException(429, limited.text(request_locale(request)), headers=limited_headers(limited))
    vid, cookie = visitor(request, desk)
    if vid is None:
        vid, cookie = new_visitor(desk)
    await desk.feedback.vote(ref.kind, ref.slug, vid, answer == "yes")
    response = RedirectResponse(url_builder(request)("feedback_thanks", _query={"page": ref.key}), status_code=303)
    if cookie:
        set_visitor_cookie(request, response, cookie)
    return response


async def thanks(request: Request) -> Response:
    """``GET /feedback/thanks?page=…``: the visitor's answer, a way to change it, the follow-up form."""
    desk = desk_of(request)
    ref = page_ref(request, request.query_params.get("page"))
    if ref is None:
        raise HTTPException(404, N_("We could not find that page. It may have moved."))
    return await _thanks_page(request, desk, ref, sent=request.query_params.get("sent") == "1")


async def _thanks_page(request: Request, desk: Desk, ref: PageRef, *, status: int = 200, sent: bool = False,
                       result: FormResult | None = None, notice: str | None = None) -> Response:
    vid, _new = visitor(request, desk)
    current = await desk.feedback.my_vote(ref.kind, ref.slug, vid) if vid else None
    values: dict[str, Any] = dict(result.raw) if result else {}
    tr = translator(request).gettext
    if current is not None and result is None:
        values = {"reason": current.reason or "", "comment": current.comment or ""}
    return page(
        request, "thanks.html", title=translator(request).gettext("Thank you for your feedback"), status=status,
        thanks_kind="vote", target=ref,
        vote=current, reasons={answer: {key: tr(label) for key, label in labels.items()} for answer, labels in REASONS.items()},
        form=form_tokens(request, desk.settings.secret_keys, "vote-details"),
        values=values, errors=result.errors if result else {}, notice=notice, sent=sent,
    )


async def details(request: Request) -> Response:
    """``POST /feedback/details``: the optional reason and comment after a vote."""
    desk = desk_of(request)
    form = await form_or_400(request)
    ref = page_ref(request, form.get("page"))
    if ref is None:
        raise HTTPException(404, N_("We could not find the page you voted on. It may have moved."))
    if is_bot(form):
        log.info("feedback details: honeypot filled, dropped")
        return RedirectResponse(url_builder(request)("feedback_thanks", _query={"page": ref.key, "sent": "1"}), 303)
    vid, _new = visitor(request, desk)
    current = await desk.feedback.my_vote(ref.kind, ref.slug, vid) if vid else None
    answer = "yes" if current is not None and current.helpful else "no"
    locale = request_locale(request)
    _ = translations(locale).gettext
    result = validate(form, _details_fields(answer), locale)
    if not check_csrf(request, form, desk.settings.secret_keys, "vote-details"):
        return await _thanks_page(request, desk, ref, status=403, result=FormResult({}, {}, result.raw),
                                  notice=_("This form had expired. Please check your comment and send it again."))
    if current is None or vid is None:
        return await _thanks_page(request, desk, ref, status=422, result=result,
                                  notice=_("Please answer Yes or No first."))
    if not result.ok:
        return await _thanks_page(request, desk, ref, status=422, result=result)
    limited = desk.limits.hit("feedback", client_ip(request))
    if limited:
        return await _thanks_page(request, desk, ref, status=429, result=result, notice=limited.text(locale))
    await desk.feedback.vote_details(ref.kind, ref.slug, vid, result.values.get("reason"), result.values.get("comment"))
    return RedirectResponse(url_builder(request)("feedback_thanks", _query={"page": ref.key, "sent": "1"}), 303)


async def api_vote(request: Request) -> Response:
    """``POST /api/feedback`` ``{"page", "helpful", "reason"?, "comment"?}``: vote, with details."""
    desk = desk_of(request)
    refused = json_guard(request)
    if refused is not None:
        return refused
    try:
        form = await read_form(request)
    except ValueError as exc:
        return json_error(400, str(exc))
    ref = page_ref(request, form.get("page"))
    answer = form.get("helpful", "")  # read_form turned JSON true/false into "yes"/"no"
    errors: dict[str, str] = {}
    if ref is None:
        errors["page"] = "Name an article (article:<slug>) or a manual chapter (chapter:<manual>/<version>/<chapter>)."
    if answer not in REASONS:
        errors["helpful"] = "Choose true (helpful) or false."
    result = validate(form, _details_fields(answer if answer in REASONS else "no"))
    if form.get("reason") and answer in REASONS and "reason" in result.errors:
        result.errors["reason"] = f"reason must be one of {', '.join(REASONS[answer])} for this answer"
    errors.update(result.errors)
    errors.update(json_type_errors(request, {"page": str, "helpful": bool, "reason": str, "comment": str}))
    if errors or ref is None:
        return json_error(422, "Please check the feedback.", errors)
    limited = desk.limits.hit("feedback", client_ip(request))
    if limited:
        return json_error(429, limited.message, headers=limited_headers(limited))
    vid, cookie = visitor(request, desk)
    if vid is None:
        vid, cookie = new_visitor(desk)
    receipt = await desk.feedback.vote(ref.kind, ref.slug, vid, answer == "yes")
    reason, comment = result.values.get("reason"), result.values.get("comment")
    if reason or comment:
        await desk.feedback.vote_details(ref.kind, ref.slug, vid, reason, comment)
    response = JSONResponse({"ok": True, "receipt": receipt, "page": ref.key, "helpful": answer == "yes",
                             "reason": reason, "comment": comment}, status_code=201)
    response.headers["cache-control"] = "no-store"
    if cookie:
        set_visitor_cookie(request, response, cookie)
    return response


# -- surveys --------------------------------------------------------------------------------------


def _survey_fields(kind: str) -> list[Field]:
    spec = SURVEYS[kind]
    return [
        Field("score", N_("Score"), kind="int", minimum=spec.low, maximum=spec.high),
        Field("comment", N_("Comment"), kind="textarea", required=False, max_length=COMMENT_MAX),
    ]


def _survey_kind(request: Request) -> str:
    kind = request.path_params["kind"]
    if kind not in SURVEYS:
        raise HTTPException(404, N_("There is no such survey."))
    return str(kind)


async def survey(request: Request) -> Response:
    """``GET``/``POST /survey/{kind}``: the CSAT or NPS form."""
    desk = desk_of(request)
    kind = _survey_kind(request)
    if request.method == "GET":
        token = request.query_params.get("t")
        data = desk.read_survey_token(kind, token) if token else None
        if token and data is None:
            return _survey_page(request, desk, kind, status=410, expired=True)
        return _survey_page(request, desk, kind, token=token)
    form = await form_or_400(request)
    token = form.get("t") or None
    data = desk.read_survey_token(kind, token) if token else None
    if token and data is None:
        return _survey_page(request, desk, kind, status=410, expired=True)
    if is_bot(form):
        log.info("survey: honeypot filled, dropped")
        return RedirectResponse(url_builder(request)("survey_thanks", kind=kind), 303)
    locale = request_locale(request)
    _ = translations(locale).gettext
    result = validate(form, _survey_fields(kind), locale)
    if not check_csrf(request, form, desk.settings.secret_keys, f"survey-{kind}"):
        return _survey_page(request, desk, kind, token=token, status=403, result=FormResult({}, {}, result.raw),
                            notice=_("This form had expired. Please check your answer and send it again."),
                            idempotency=form.get("idempotency_key"))
    if not result.ok:
        return _survey_page(request, desk, kind, token=token, status=422, result=result,
                            idempotency=form.get("idempotency_key"))
    limited = desk.limits.hit("feedback", client_ip(request))
    if limited:
        return _survey_page(request, desk, kind, token=token, status=429, result=result, notice=limited.text(locale),
                            headers=limited_headers(limited), idempotency=form.get("idempotency_key"))
    key = f"survey-link:{data['n']}" if data else idempotency_key(request, form)
    context = dict(data["c"]) if data else {"source": "portal"}
    await desk.feedback.answer_survey(kind, result.values["score"], result.values.get("comment"), context, key)
    return RedirectResponse(url_builder(request)("survey_thanks", kind=kind), 303)


def _survey_page(request: Request, desk: Desk, kind: str, *, token: str | None = None, status: int = 200,
                 expired: bool = False, result: FormResult | None = None, notice: str | None = None,
                 headers: dict[str, str] | None = None, idempotency: str | None = None) -> Response:
    spec = SURVEYS[kind]
    return page(
        request, "survey.html", title=translator(request).gettext(spec.title), status=status, headers=headers, kind=kind, spec=spec,
        scores=list(range(spec.low, spec.high + 1)),
        token=token, expired=expired, values=dict(result.raw) if result else {}, errors=result.errors if result else {},
        notice=notice, form=form_tokens(request, desk.settings.secret_keys, f"survey-{kind}", idempotency=idempotency),
    )


async def survey_thanks(request: Request) -> Response:
    _survey_kind(request)
    return page(request, "thanks.html", title=translator(request).gettext("Thank you"), thanks_kind="survey")


async def api_survey(request: Request) -> Response:
    """``POST /api/surveys/{kind}`` ``{"score", "comment"?, "token"?, "context"?}`` (+ ``Idempotency-Key``).

    ``context`` (the widget's ``data-context``, e.g. ``checkout``) is kept with the answer
    as ``{"source": "api", "context": …}``; a survey link's token brings its own context."""
    desk = desk_of(request)
    kind = _survey_kind(request)
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
    token = form.get("token") or None
    data = desk.read_survey_token(kind, token) if token else None
    if token and data is None:
        return json_error(410, "This survey link has expired or is not valid.")
    result = validate(form, _survey_fields(kind))
    result.errors.update(json_type_errors(request, {"score": int, "comment": str, "token": str}))
    given = (getattr(request.state, "json_body", None) or {}).get("context")  # the widget's data-context
    if given is not None and not (isinstance(given, str) and len(given) <= 200):
        result.errors["context"] = "context must be a string of at most 200 characters"
    given = clean_text(given) if isinstance(given, str) else None
    if not result.ok:
        return json_error(422, "Please check the answer.", result.errors)
    limited = desk.limits.hit("feedback", client_ip(request))
    if limited:
        return json_error(429, limited.message, headers=limited_headers(limited))
    key = f"survey-link:{data['n']}" if data else idempotency_key(request, form)
    context = dict(data["c"]) if data else {"source": "api", **({"context": given} if given else {})}
    survey_id, created = await desk.feedback.answer_survey(kind, result.values["score"], result.values.get("comment"),
                                                           context, key)
    response = JSONResponse({"ok": True, "id": survey_id, "created": created, "kind": kind},
                            status_code=201 if created else 200)
    response.headers["cache-control"] = "no-store"
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/feedback/vote", vote, name="feedback_vote", methods=["POST"]),
        Route("/feedback/thanks", thanks, name="feedback_thanks", methods=["GET", "HEAD"]),
        Route("/feedback/details", details, name="feedback_details", methods=["POST"]),
        Route("/survey/{kind}", survey, name="survey", methods=["GET", "HEAD", "POST"]),
        Route("/survey/{kind}/thanks", survey_thanks, name="survey_thanks", methods=["GET", "HEAD"]),
        Route("/api/feedback", api_vote, name="api_feedback", methods=["POST"]),
        Route("/api/surveys/{kind}", api_survey, name="api_survey", methods=["POST"]),
    ]
