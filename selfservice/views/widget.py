"""The embeddable help widget: its script (``/widget.js``) and page-aware suggestions.

A host page loads ``{portal}/widget.js``; the script finds the portal from its own ``src``
and calls the JSON API. ``/api/contextual`` answers "which articles help on this page?"
from the articles' front matter ``contexts``: entries starting with ``/`` are globs over
the host page's path (``/checkout*``), anything else is a context key the host passes in
the script tag's ``data-context``. The script is built from ``widgets/`` and committed, so
it is read once here and served with an ETag; its URL is stable (hosts embed it), so the
cache lifetime is short.

The widget's own words are English in the script; ``/api/widget/strings?lang=de`` gives it
:data:`STRINGS` from the gettext catalog (English → German), fetched once when it opens.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..caching import prepare, respond
from ..content import Article
from ..i18n import N_, page_headers, request_locale, tag, translations
from ..state import portal_state
from .hours import open_now_view
from .rendering import absolute_root

__all__ = ["MAX_SUGGESTIONS", "STRINGS", "contact_info", "contextual", "match_contexts", "widget_js", "widget_strings"]

WIDGET_PATH = Path(__file__).resolve().parent.parent / "static" / "widget.js"
WIDGET_MAX_AGE = 300  # seconds: the URL is not fingerprinted, so edits must show up soon
MAX_SUGGESTIONS = 6
MAX_PATH = 2048
_CONTEXT_RE = re.compile(r"[a-z0-9_-]{1,64}")
_WILDCARDS = frozenset("*?[]")

# Every sentence the widget shows, as written in widgets/src/widget.js (the keys it looks up).
# `%(num)s` strings come in pairs, one and many: the widget picks by the number.
STRINGS: tuple[str, ...] = (
    N_("Help"), N_("‹ Back"), N_("Close"), N_("Search help articles"), N_("Search for answers…"),
    N_("Quick answer"), N_("Quick actions"), N_("See all results in the help centre"), N_("Open in help centre"),
    N_("Was this helpful?"), N_("Yes"), N_("No"), N_("Comment (optional)"), N_("Anything you'd like to add? (optional)"),
    N_("Send"), N_("Contact us"), N_("Topic"), N_("Your email address"), N_("Subject"), N_("Your message"),
    N_("Send message"), N_("We have emailed you a copy. Keep the reference to check on your request."),
    N_("Check your request's progress"), N_("(opens in a new tab)"), N_("Use the full contact form"),
    N_("We couldn't send your answer. Please try again."),
    N_("We couldn't send your message. Please try again, or use the full contact form."),
    N_("Sending…"), N_("Suggested for this page"), N_("Results"),
    N_("%(num)s quick action"), N_("%(num)s quick actions"), N_("%(num)s result"), N_("%(num)s results"),
    N_("no results"), N_("No results for “%(query)s”. Try other words, or contact us."),
    N_("Search isn't available right now. Please try again."), N_("Search failed"), N_("(Sign in needed.)"),
    N_("Loading…"), N_("This page can't be shown here. Open it in the help centre instead."),
    N_("Thanks for your feedback!"), N_("Thank you! Your answer has been sent."),
    N_("Send us a message and we'll answer when we're back."), N_("Opening hours"),
    N_("Thank you. Your reference is %(reference)s."),
    N_("How likely are you to recommend us to a friend or colleague?"),
    N_("How satisfied are you with your experience today?"), N_("0 = Not at all likely"), N_("10 = Extremely likely"),
    N_("Very unsatisfied"), N_("Very satisfied"), N_("%(num)s star"), N_("%(num)s stars"),
)

_WIDGET = prepare(WIDGET_PATH.read_bytes(), "text/javascript; charset=utf-8")


async def widget_js(request: Request) -> Response:
    """The built widget script (``selfservice/static/widget.js``), with ETag and gzip."""
    return respond(request, _WIDGET, max_age=WIDGET_MAX_AGE)


async def widget_strings(request: Request) -> Response:
    """``GET /api/widget/strings?lang=de``: the widget's words in the request's language,
    English → translation (``lang`` is the BCP 47 tag the strings are in)."""
    locale = request_locale(request)
    _ = translations(locale).gettext
    body = json.dumps({"lang": tag(locale), "strings": {s: _(s) for s in STRINGS}}, ensure_ascii=False, separators=(",", ":"))
    headers = page_headers(locale, portal_state(request).supported_locales)
    return respond(request, prepare(body, "application/json", headers=headers), max_age=WIDGET_MAX_AGE)


def match_contexts(article: Article, path: str | None, context: str | None) -> tuple[int, int]:
    """(number of matching ``contexts`` entries, their literal characters) for ranking.

    More matching entries rank first; among equals the more specific patterns win
    (``/checkout/payment*`` beats ``/checkout*``; a context key counts all its characters).
    """
    count = specificity = 0
    for entry in article.contexts:
        if entry.startswith("/"):
            if path is not None and fnmatchcase(path, entry):
                count += 1
                specificity += sum(ch not in _WILDCARDS for ch in entry)
        elif context is not None and entry == context:
            count += 1
            specificity += len(entry)
    return count, specificity


def _params(request: Request) -> tuple[str | None, str | None]:
    path = request.query_params.get("path") or None
    context = request.query_params.get("context") or None
    if path is not None and (len(path) > MAX_PATH or not path.startswith("/")):
        raise HTTPException(400, f"`path` must be a URL path starting with / and at most {MAX_PATH} characters.")
    if context is not None and not _CONTEXT_RE.fullmatch(context):
        raise HTTPException(400, "`context` must be 1 to 64 characters of a-z, 0-9, _ and -.")
    return path, context


async def contextual(request: Request) -> Response:
    """Articles for the host page ``path`` and/or host ``context`` key, best first (at most 6)."""
    path, context = _params(request)
    library = portal_state(request).library
    locale = request_locale(request)
    ranked = []
    if path is not None or context is not None:
        for article in library.articles.values():
            count, specificity = match_contexts(article, path, context)
            if count:
                ranked.append((-count, -specificity, article.title.lower(), article.slug, article))
        ranked.sort(key=lambda row: row[:4])
    root = absolute_root(request)
    shown = [library.localized(a, locale) for *_, a in ranked[:MAX_SUGGESTIONS]]  # a translation's title and summary
    results = [
        {"slug": a.slug, "title": a.title, "url": root + a.url_path, "summary": a.summary, "category": a.category}
        for a in shown
    ]
    body = json.dumps({"path": path, "context": context, "results": results}, ensure_ascii=False, separators=(",", ":"))
    return respond(request, prepare(body, "application/json"))


async def contact_info(request: Request) -> Response:
    """``GET /api/contact``: what the widget's contact form needs — the topics, whether anyone
    is there now (from ``Settings.business_hours``; ``null`` without hours) and where the full
    forms and the opening hours are, in the request's language (``?lang=``). Computed per
    request (it follows the clock), never cached."""
    app = request.scope["app"]
    state = portal_state(request)
    root = absolute_root(request)
    hours = getattr(app, "hours", None)
    locale = request_locale(request)
    _ = translations(locale).gettext
    open_now = None
    if hours is not None:
        view = open_now_view(hours, app.clock(), locale)
        open_now = {"open": view.any_open, "headline": view.headline, "detail": view.detail,
                    "closure": view.closure or None}
    body = {
        "topics": [{"value": k, "label": _(v)} for k, v in state.settings.request_topics.items()],
        "open_now": open_now,
        "hours_url": root + str(app.url_path_for("hours")) if hours is not None else None,
        "contact_url": root + str(app.url_path_for("contact")),
        "status_url": root + str(app.url_path_for("request_lookup")),
    }
    response = respond(request, prepare(json.dumps(body, ensure_ascii=False, separators=(",", ":")), "application/json"))
    response.headers["cache-control"] = "no-store"
    return response
