"""The JSON API (``/api/...``) and its OpenAPI 3.1 description.

Links in JSON are absolute (from ``Settings.base_url``, else the request) because the
widget shows them on the host's pages, not under the portal's mount.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..caching import prepare, respond
from ..content import Article
from ..i18n import request_locale
from ..state import portal_state
from .rendering import absolute_root, fix_links
from .accounts import action_json, action_links
from .search import answer_view, parse_filters, parse_int, record_search

__all__ = ["OPENAPI", "actions", "answer", "article", "articles", "json_response", "openapi", "search"]


def json_response(request: Request, data: Any, *, max_age: int = 0) -> Response:
    import json

    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return respond(request, prepare(body, "application/json"), max_age=max_age)


_json = json_response


def _summary(a: Article, root: str) -> dict[str, Any]:
    return {
        "slug": a.slug,
        "title": a.title,
        "summary": a.summary,
        "category": a.category,
        "tags": list(a.tags),
        "updated": a.updated.isoformat() if a.updated else None,
        "url": root + a.url_path,
    }


def _query(request: Request) -> str:
    q = request.query_params.get("q", "")
    if len(q) > 4 * portal_state(request).settings.max_query_length:
        raise HTTPException(400, "The query is too long.")
    return q


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise HTTPException(400, f"{name} must be true or false.")
    return raw in ("true", "1")


async def search(request: Request) -> Response:
    """``GET /api/search``: a page of results; the first page of a search is recorded, and
    its hits carry a ``click_url`` that records the click on the way to the article."""
    state = portal_state(request)
    q = _query(request)
    limit = parse_int(request, "limit", 10, 1, 50)
    offset = parse_int(request, "offset", 0, 0, 10_000)
    filters = parse_filters(request)
    with_facets = _flag(request, "facets")
    root = absolute_root(request)
    if not q.strip():
        empty: dict[str, Any] = {"query": q, "total": 0, "results": [], "message": None, "suggestion": None,
                                 "actions": []}
        return _json(request, {**empty, "facets": {"category": [], "tag": [], "manual": []}} if with_facets else empty)
    options: dict[str, Any] = {"limit": limit, "offset": offset, "facets": with_facets,
                               "language": request_locale(request), **filters}
    res = state.index.cached(q, **options)
    if res is None:  # not in the cache: off the event loop
        res = await run_in_threadpool(partial(state.index.search, q, **options))
    key = record_search(request, q, res.total) if offset == 0 else None
    lib = state.library
    click_url = f"{root}{request.scope['app'].url_path_for('search_click', key=key)}?" if key is not None else None

    def url_of(slug: str) -> str:
        doc = lib.document(slug)
        return root + (doc.url_path if doc is not None else f"/a/{slug}")

    def hit(rank: int, h: Any) -> dict[str, Any]:
        out = {"slug": h.slug, "title": h.title, "url": url_of(h.slug), "snippet": h.snippet,
               "score": round(float(h.score), 4), "category": h.category, "summary": h.summary}
        if click_url is not None and lib.document(h.slug) is not None:
            out["click_url"] = click_url + urlencode({"to": h.slug, "rank": rank})
        return out

    data: dict[str, Any] = {
        "query": res.query,
        "total": res.total,
        "results": [hit(rank, h) for rank, h in enumerate(res.hits, start=offset + 1)],
        "message": res.message,
        "suggestion": res.suggestion,
        "actions": action_json(await action_links(request, q, absolute=True)) if offset == 0 else [],
    }
    if with_facets and res.facets is not None:
        data["facets"] = {name: [{"value": fc.value, "count": fc.count} for fc in getattr(res.facets, name)]
                          for name in ("category", "tag", "manual")}
    return _json(request, data)


async def answer(request: Request) -> Response:
    """``GET /api/answer?q=``: the passage that answers the question, or null when not sure."""
    state = portal_state(request)
    if "q" not in request.query_params:
        raise HTTPException(400, "Give the question as q.")
    q = _query(request)
    ask = partial(state.index.answer, q, language=request_locale(request))
    found = await run_in_threadpool(ask) if q.strip() else None
    shown = answer_view(request, found, absolute_root(request)) if found is not None else None
    body = None if shown is None else {"slug": shown.slug, "title": shown.title, "heading": shown.heading,
                                       "url": shown.url, "text": shown.text}
    return _json(request, {"query": q, "answer": body})


async def actions(request: Request) -> Response:
    """``GET /api/actions``: every account action with its keywords, for the widget and hosts.

    The same answer for every visitor (cacheable, no cookies read): ``audience`` says who can
    use each one. Empty when the portal has no account pages."""
    accounts = getattr(request.scope.get("app"), "accounts", None)
    root = absolute_root(request)
    app = request.scope["app"]
    items = [] if accounts is None else [
        {"slug": a.slug, "title": a.title, "summary": a.summary, "url": root + str(app.url_path_for(a.menu_route)),
         "audience": a.audience, "keywords": list(a.keywords)}
        for a in sorted(accounts.actions, key=lambda a: a.order)
    ]
    return _json(request, {"actions": items}, max_age=300)


async def articles(request: Request) -> Response:
    state = portal_state(request)
    root = absolute_root(request)
    category = request.query_params.get("category") or None
    arts = sorted(state.library.articles.values(), key=lambda a: (a.category, a.title.lower()))
    if category is not None:
        arts = [a for a in arts if a.category == category]
    return _json(request, {"total": len(arts), "articles": [_summary(a, root) for a in arts]})


async def article(request: Request) -> Response:
    state = portal_state(request)
    art = state.library.articles.get(request.path_params["slug"])
    if art is None:
        raise HTTPException(404, "No article has that slug.")
    root = absolute_root(request)
    # ?lang=de (the widget's language): its translation when there is one.
    shown = state.library.localized(art, request_locale(request)) if "lang" in request.query_params else art
    data = _summary(shown, root)
    data["html"] = fix_links(shown.body_html, root)
    data["toc"] = [{"level": h.level, "id": h.id, "text": h.text} for h in shown.toc]
    data["related"] = [r.slug for r in state.library.related(art)]
    return _json(request, data)


async def openapi(request: Request) -> Response:
    spec = dict(OPENAPI)
    spec["servers"] = [{"url": absolute_root(request)}]
    return _json(request, spec)


_ERROR = {"$ref": "#/components/schemas/Error"}
_ERR_RESPONSES = {
    "400": {"description": "Bad parameter", "content": {"application/json": {"schema": _ERROR}}},
}


def _param(name: str, schema: dict[str, Any], desc: str, required: bool = False, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": desc}


# The widget's language: answers shown to the visitor follow it (an unknown one is ignored).
_LANG = _param("lang", {"type": "string"}, "A language, e.g. de (else the lang cookie, Accept-Language, the default)")

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "selfservice help centre API",
        "version": "1",
        "description": "Search and read the help centre's articles; find account actions.",
    },
    "paths": {
        "/api/search": {
            "get": {
                "operationId": "search",
                "summary": "Search articles",
                "parameters": [
                    _param("q", {"type": "string", "maxLength": 2048}, "Words, \"phrases\", -exclude, OR, prefix*"),
                    _param("limit", {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}, "Results per page"),
                    _param("offset", {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}, "Results to skip"),
                    _param("category", {"type": "string", "maxLength": 200}, "Only this category"),
                    _param("tag", {"type": "string", "maxLength": 200}, "Only articles with this tag"),
                    _param("locale", {"type": "string", "maxLength": 200}, "Only articles in this language"),
                    _param("manual", {"type": "string", "maxLength": 200}, "Only chapters of this manual (<id>/<version>)"),
                    _param("facets", {"type": "boolean", "default": False}, "Also count all matches per category, tag and manual"),
                    _LANG,
                ],
                "responses": {
                    "200": {
                        "description": "Ranked results",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchResults"}}},
                    },
                    **_ERR_RESPONSES,
                },
            }
        },
        "/api/answer": {
            "get": {
                "operationId": "answer",
                "summary": "The passage that answers a question, when the index is confident",
                "parameters": [_param("q", {"type": "string", "maxLength": 2048}, "The question", True), _LANG],
                "responses": {
                    "200": {
                        "description": "The answer, or null",
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["query", "answer"],
                            "properties": {
                                "query": {"type": "string"},
                                "answer": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Answer"}]},
                            },
                        }}},
                    },
                    **_ERR_RESPONSES,
                },
            }
        },
        "/api/actions": {
            "get": {
                "operationId": "listActions",
                "summary": "Account actions (reset a password, track an order, …) with the phrases that find them",
                "responses": {
                    "200": {
                        "description": "Every action, in Account menu order (empty without account pages)",
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["actions"],
                            "properties": {"actions": {"type": "array", "items": {
                                "type": "object",
                                "required": ["slug", "title", "summary", "url", "audience", "keywords"],
                                "properties": {
                                    "slug": {"type": "string"},
                                    "title": {"type": "string"},
                                    "summary": {"type": "string"},
                                    "url": {"type": "string"},
                                    "audience": {"type": "string", "enum": ["everyone", "signed_in", "signed_out"]},
                                    "keywords": {"type": "array", "items": {"type": "string"}},
                                },
                            }}},
                        }}},
                    }
                },
            }
        },
        "/api/contact": {
            "get": {
                "operationId": "contactInfo",
                "summary": "For a contact form: the topics, whether anyone is there now, and the related pages",
                "parameters": [_LANG],
                "responses": {
                    "200": {
                        "description": "Topics and opening status (open_now is null when no business hours are set)",
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["topics", "open_now", "hours_url", "contact_url", "status_url"],
                            "properties": {
                                "topics": {"type": "array", "items": {
                                    "type": "object", "required": ["value", "label"],
                                    "properties": {"value": {"type": "string"}, "label": {"type": "string"}}}},
                                "open_now": {"oneOf": [{"type": "null"}, {
                                    "type": "object", "required": ["open", "headline", "detail", "closure"],
                                    "properties": {
                                        "open": {"type": "boolean", "description": "Any channel open now"},
                                        "headline": {"type": "string", "examples": ["Open now", "Closed now"]},
                                        "detail": {"type": "string", "examples": ["Phone until 17:30"]},
                                        "closure": {"type": ["string", "null"], "description": "Today's closure, e.g. a holiday"},
                                    }}]},
                                "hours_url": {"type": ["string", "null"]},
                                "contact_url": {"type": "string"},
                                "status_url": {"type": "string", "description": "Look up a request by its reference"},
                            },
                        }}},
                    }
                },
            }
        },
        "/api/widget/strings": {
            "get": {
                "operationId": "widgetStrings",
                "summary": "The help widget's own words in a language (English → translation)",
                "parameters": [_LANG],
                "responses": {
                    "200": {
                        "description": "Every English string the widget shows, with its translation (English where none)",
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["lang", "strings"],
                            "properties": {
                                "lang": {"type": "string", "description": "The BCP 47 tag of the strings", "examples": ["de"]},
                                "strings": {"type": "object", "additionalProperties": {"type": "string"}},
                            },
                        }}},
                    }
                },
            }
        },
        "/api/articles": {
            "get": {
                "operationId": "listArticles",
                "summary": "List published articles",
                "parameters": [_param("category", {"type": "string"}, "Only this category")],
                "responses": {
                    "200": {
                        "description": "All articles",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["total", "articles"],
                                    "properties": {
                                        "total": {"type": "integer"},
                                        "articles": {"type": "array", "items": {"$ref": "#/components/schemas/ArticleSummary"}},
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/articles/{slug}": {
            "get": {
                "operationId": "getArticle",
                "summary": "One article with its HTML",
                "parameters": [_param("slug", {"type": "string"}, "The article's slug", True, "path"),
                               _param("lang", {"type": "string"}, "A language, e.g. de: its translation when there is one")],
                "responses": {
                    "200": {
                        "description": "The article",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Article"}}},
                    },
                    "404": {"description": "No such article", "content": {"application/json": {"schema": _ERROR}}},
                },
            }
        },
    },
    "components": {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "status"],
                "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
            },
            "SearchHit": {
                "type": "object",
                "required": ["slug", "title", "url", "snippet", "score"],
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "url": {"type": "string"},
                    "snippet": {"type": "string", "description": "Safe HTML; matches in <mark>"},
                    "score": {"type": "number"},
                    "category": {"type": "string"},
                    "summary": {"type": "string"},
                    "click_url": {"type": "string", "description": "Opens the article and records the click "
                                                                    "(first page of a recorded search only)"},
                },
            },
            "FacetCounts": {
                "type": "array",
                "items": {"type": "object", "required": ["value", "count"],
                          "properties": {"value": {"type": "string"}, "count": {"type": "integer", "minimum": 0}}},
            },
            "ActionLink": {
                "type": "object",
                "required": ["slug", "title", "summary", "url", "sign_in"],
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "url": {"type": "string", "description": "The action's page in the portal"},
                    "sign_in": {"type": "boolean", "description": "The page will ask this visitor to sign in first"},
                },
            },
            "Answer": {
                "type": "object",
                "required": ["slug", "title", "heading", "url", "text"],
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "heading": {"type": ["string", "null"], "description": "The section's heading"},
                    "url": {"type": "string", "description": "The article, with #anchor of the section"},
                    "text": {"type": "string", "description": "Plain text: escape it"},
                },
            },
            "SearchResults": {
                "type": "object",
                "required": ["query", "total", "results"],
                "properties": {
                    "query": {"type": "string"},
                    "total": {"type": "integer"},
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/SearchHit"}},
                    "message": {"type": ["string", "null"]},
                    "suggestion": {"type": ["string", "null"]},
                    "actions": {"type": "array", "items": {"$ref": "#/components/schemas/ActionLink"},
                                "description": "Account actions the query asks for (\"forgot my password\" → "
                                               "password reset), best first; empty after the first page"},
                    "facets": {
                        "type": "object",
                        "description": "With facets=true: counts over all matches",
                        "required": ["category", "tag", "manual"],
                        "properties": {name: {"$ref": "#/components/schemas/FacetCounts"} for name in ("category", "tag", "manual")},
                    },
                },
            },
            "ArticleSummary": {
                "type": "object",
                "required": ["slug", "title", "url"],
                "properties": {
                    "slug": {"type": "string"},
                    "title": {"type": "string"},
                    "summary": {"type": "string"},
                    "category": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "updated": {"type": ["string", "null"], "format": "date"},
                    "url": {"type": "string"},
                },
            },
            "Article": {
                "allOf": [
                    {"$ref": "#/components/schemas/ArticleSummary"},
                    {
                        "type": "object",
                        "required": ["html", "toc"],
                        "properties": {
                            "html": {"type": "string"},
                            "toc": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "level": {"type": "integer"},
                                        "id": {"type": "string"},
                                        "text": {"type": "string"},
                                    },
                                },
                            },
                            "related": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                ]
            },
        }
    },
}


# -- feedback, surveys, suggestions, requests (views/feedback.py, views/requests.py) ----------------

def _reasons() -> dict[str, dict[str, str]]:
    from .feedback import REASONS

    return REASONS


_JSON_BODY_NOTE = ("Send Content-Type: application/json. From a browser on another site, only the "
                   "origins in Settings.allowed_origins may call it (CORS).")


def _json_error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FormError"}}}}


_WRITE_ERRORS = {
    "400": _json_error("The body is not a JSON object"),
    "403": _json_error("A browser on a site that may not send feedback"),
    "415": _json_error("The body is not JSON"),
    "422": _json_error("A field is missing or invalid; `errors` says which"),
    "429": {**_json_error("Too many submissions; wait `Retry-After` seconds"),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}},
}
_IDEMPOTENCY = _param("Idempotency-Key", {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,100}$"},
                      "Any unique string per submission: repeating it returns the first result", where="header")

OPENAPI["paths"].update({
    "/api/feedback": {
        "post": {
            "operationId": "vote",
            "summary": "Was this page helpful? (one vote per visitor and page; voting again changes it)",
            "description": _JSON_BODY_NOTE + " The visitor is identified by the ss_visitor cookie set in the answer.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["page", "helpful"],
                "properties": {
                    "page": {"type": "string", "description": "article:<slug> or chapter:<manual>/<version>/<chapter>"},
                    "helpful": {"type": "boolean"},
                    "reason": {"type": "string", "enum": sorted({k for r in ("yes", "no") for k in _reasons()[r]} | {""})},
                    "comment": {"type": "string", "maxLength": 2000},
                }}}}},
            "responses": {
                "201": {"description": "Stored (committed) vote", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["ok", "receipt", "page", "helpful"],
                    "properties": {"ok": {"type": "boolean"}, "receipt": {"type": "integer"}, "page": {"type": "string"},
                                   "helpful": {"type": "boolean"}, "reason": {"type": ["string", "null"]},
                                   "comment": {"type": ["string", "null"]}}}}}},
                **_WRITE_ERRORS,
            },
        }
    },
    "/api/surveys/{kind}": {
        "post": {
            "operationId": "answerSurvey",
            "summary": "Answer the CSAT (score 1-5) or NPS (score 0-10) survey",
            "description": _JSON_BODY_NOTE + " `token` is the t= value of a portal.survey_link(); its context is stored "
                           "with the answer and a second answer with the same token changes nothing.",
            "parameters": [_param("kind", {"type": "string", "enum": ["csat", "nps"]}, "The survey", True, "path"),
                           _IDEMPOTENCY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["score"],
                "properties": {"score": {"type": "integer", "minimum": 0, "maximum": 10},
                               "comment": {"type": "string", "maxLength": 2000}, "token": {"type": "string"},
                               "context": {"type": ["string", "null"], "maxLength": 200,
                                           "description": "Where it was asked (the widget's data-context)"}}}}}},
            "responses": {
                "201": {"description": "Stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SurveyAnswer"}}}},
                "200": {"description": "A repeat: the first answer stands", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SurveyAnswer"}}}},
                "404": _json_error("No such survey"),
                "410": _json_error("The survey link expired"),
                **_WRITE_ERRORS,
            },
        }
    },
    "/api/suggest": {
        "get": {
            "operationId": "suggest",
            "summary": "Autocomplete for the search box, or articles for a contact or complaint subject",
            "description": "Without form (or form=search): titles whose words start with what was typed, and "
                           "popular queries (`queries`), from memory, cacheable for a minute. With form=contact "
                           "or form=complaint: articles that may answer the subject being typed (rate limited); "
                           "their `url` records the click.",
            "parameters": [
                _param("q", {"type": "string", "maxLength": 1000}, "The text (or subject) typed so far", True),
                _param("form", {"type": "string", "enum": ["search", "contact", "complaint"]},
                       "search (the default): autocomplete; contact or complaint: suggestions for that form"),
                _param("limit", {"type": "integer", "minimum": 1, "maximum": 20, "default": 8},
                       "Autocomplete: titles at most"),
            ],
            "responses": {
                "200": {"description": "Suggestions (possibly none)", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["query", "suggestions"],
                    "properties": {"query": {"type": "string"},
                                   "queries": {"type": "array", "items": {"type": "string"},
                                               "description": "Autocomplete: popular queries starting so"},
                                   "suggestions": {"type": "array", "items": {
                        "type": "object", "required": ["slug", "title", "url"],
                        "properties": {"slug": {"type": "string"}, "title": {"type": "string"},
                                       "summary": {"type": "string"},
                                       "url": {"type": "string", "description": "Opens the article and records the click"},
                                       "page_url": {"type": "string"}}}}}}}}},
                "400": _json_error("Bad parameter"),
                "429": _WRITE_ERRORS["429"],
            },
        }
    },
    "/api/requests": {
        "post": {
            "operationId": "createRequest",
            "summary": "Send a contact request or a complaint; the answer holds its reference",
            "description": _JSON_BODY_NOTE + " The acknowledgement email goes out from the outbox.",
            "parameters": [_IDEMPOTENCY, _param("lang", {"type": "string"}, "The customer's language: field messages and "
                                                       "the request's emails (else Settings.locale)")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["topic", "subject", "message", "email"],
                "properties": {
                    "kind": {"type": "string", "enum": ["contact", "complaint"], "default": "contact"},
                    "topic": {"type": "string", "description": "A key of Settings.request_topics"},
                    "subject": {"type": "string", "minLength": 3, "maxLength": 200},
                    "message": {"type": "string", "minLength": 10, "maxLength": 5000},
                    "outcome": {"type": "string", "maxLength": 1000, "description": "Complaints: the outcome expected"},
                    "email": {"type": "string", "format": "email", "maxLength": 254},
                    "order_ref": {"type": "string", "maxLength": 64},
                }}}}},
            "responses": {
                "201": {"description": "Stored (committed)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RequestCreated"}}}},
                "200": {"description": "A repeat of an earlier submit (same Idempotency-Key)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RequestCreated"}}}},
                **_WRITE_ERRORS,
            },
        }
    },
})
OPENAPI["components"]["schemas"].update({
    "FormError": {
        "type": "object", "required": ["error", "status"],
        "properties": {"error": {"type": "string"}, "status": {"type": "integer"},
                       "errors": {"type": "object", "additionalProperties": {"type": "string"},
                                  "description": "A message per invalid field"}},
    },
    "SurveyAnswer": {
        "type": "object", "required": ["ok", "id", "created", "kind"],
        "properties": {"ok": {"type": "boolean"}, "id": {"type": "integer"}, "created": {"type": "boolean"},
                       "kind": {"type": "string", "enum": ["csat", "nps"]}},
    },
    "RequestCreated": {
        "type": "object", "required": ["reference", "kind", "status", "created"],
        "properties": {"reference": {"type": "string", "examples": ["C-7K4M-X9TH"]},
                       "kind": {"type": "string", "enum": ["contact", "complaint"]}, "status": {"type": "string"},
                       "created": {"type": "boolean"}, "due_at": {"type": ["string", "null"], "format": "date-time"}},
    },
})
