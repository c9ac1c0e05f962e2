"""selfservice.forms and selfservice.ratelimit on their own: signing, CSRF, origin checks, the
honeypot, field validation, reading bodies, rate limits."""

from __future__ import annotations

import json

import pytest
from itsdangerous import BadSignature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from selfservice import Settings
from selfservice.forms import (
    CSRF_COOKIE,
    Field,
    Signer,
    check_csrf,
    clean_text,
    csrf_token,
    is_bot,
    read_form,
    same_origin,
    set_csrf_cookie,
    validate,
)
from selfservice.ratelimit import RateLimits

KEYS = ["k" * 32]


# -- signing --------------------------------------------------------------------------------------


def test_a_token_for_one_purpose_is_refused_for_another() -> None:
    survey, csrf = Signer(KEYS, "survey"), Signer(KEYS, "csrf.contact")
    token = survey.dumps({"k": "csat"})
    assert survey.loads(token) == {"k": "csat"}
    with pytest.raises(BadSignature):
        csrf.loads(token)
    assert csrf.try_loads(token) is None and csrf.try_loads(None) is None and csrf.try_loads("x" * 5000) is None


def test_keys_rotate_newest_first() -> None:
    old = Signer(["o" * 32], "p").dumps("v")
    rotated = Signer(["n" * 32, "o" * 32], "p")
    assert rotated.loads(old) == "v", "a token signed with the old key still works"
    assert Signer(["n" * 32], "p").loads(rotated.dumps("v")) == "v", "new tokens use the newest key"


def test_expired_tokens_are_refused() -> None:
    s = Signer(KEYS, "p")
    assert s.try_loads(s.dumps("v"), max_age=-1) is None


# -- CSRF and origins -----------------------------------------------------------------------------


def _csrf_app() -> Starlette:
    async def show(request: Request) -> Response:
        response = PlainTextResponse(csrf_token(request, KEYS, "contact"))
        set_csrf_cookie(request, response)
        return response

    async def post(request: Request) -> Response:
        form = await read_form(request)
        return JSONResponse({"csrf": check_csrf(request, form, KEYS, "contact"),
                             "other_purpose": check_csrf(request, form, KEYS, "lookup"),
                             "same_origin": same_origin(request, ["https://help.example"])})

    return Starlette(routes=[Route("/", show), Route("/post", post, methods=["POST"])])


def test_csrf_token_must_match_this_visitors_cookie_and_purpose() -> None:
    with TestClient(_csrf_app()) as c:
        token = c.get("/").text
        assert c.cookies.get(CSRF_COOKIE)
        assert c.get("/").text != token or True  # same cookie id, fresh timestamp: either is fine
        r = c.post("/post", data={"csrf_token": token}).json()
        assert r["csrf"] and not r["other_purpose"]
        assert c.post("/post", data={"a": "1"}, headers={"x-csrf-token": token}).json()["csrf"], "header works for fetch"
        assert not c.post("/post", data={"csrf_token": token + "x"}).json()["csrf"]
    with TestClient(_csrf_app()) as other:  # another visitor (another cookie) cannot use it
        other.get("/")
        assert not other.post("/post", data={"csrf_token": token}).json()["csrf"]
    with TestClient(_csrf_app()) as fresh:  # no cookie at all
        assert not fresh.post("/post", data={"csrf_token": token}).json()["csrf"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"sec-fetch-site": "same-origin"}, True),
        ({"sec-fetch-site": "cross-site", "origin": "http://testserver"}, False),
        ({"origin": "http://testserver"}, True),
        ({"origin": "https://help.example"}, True),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "null"}, False),
        ({"referer": "http://testserver/a/x"}, True),
        ({"referer": "https://evil.example/a"}, False),
        ({}, False),
    ],
)
def test_same_origin(headers: dict[str, str], expected: bool) -> None:
    with TestClient(_csrf_app()) as c:
        assert c.post("/post", data={"a": "1"}, headers=headers).json()["same_origin"] is expected


def test_honeypot() -> None:
    assert is_bot({"website": "http://spam"}) and not is_bot({"website": "  "}) and not is_bot({})


# -- reading and validating -----------------------------------------------------------------------


def _echo_app() -> Starlette:
    async def echo(request: Request) -> Response:
        try:
            return JSONResponse(await read_form(request))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return Starlette(routes=[Route("/", echo, methods=["POST"])])


def test_read_form_takes_forms_and_json_objects_only() -> None:
    with TestClient(_echo_app()) as c:
        assert c.post("/", data={"a": "1"}).json() == {"a": "1"}
        assert c.post("/", json={"s": "x", "n": 5, "t": True, "f": False, "l": [1], "o": {}}).json() == {
            "s": "x", "n": "5", "t": "yes", "f": "no"}
        assert c.post("/", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
        assert c.post("/", content=b"{", headers={"content-type": "application/json"}).status_code == 400
        assert c.post("/", content=b"a=1", headers={"content-type": "text/plain"}).status_code == 400
        files = c.post("/", data={"a": "1"}, files={"f": ("x.txt", b"data")})
        assert files.status_code == 400, "no uploads on customer forms"


def test_clean_text_removes_what_breaks_storage_and_display() -> None:
    assert clean_text("  a\x00b\u200bc\r\nd\ud800 ", multiline=True) == "ab\u200bc\nd?"
    assert clean_text("line\nbreak") == "linebreak", "single-line fields lose newlines"
    assert clean_text("e\u0301") == "\u00e9", "NFC"


def test_fields_validate_and_keep_what_was_typed() -> None:
    fields = [
        Field("email", "Email address", kind="email"),
        Field("subject", "Subject", max_length=10, min_length=3),
        Field("score", "Score", kind="int", minimum=1, maximum=5),
        Field("topic", "Topic", kind="choice", choices=("a", "b")),
        Field("note", "Note", required=False),
    ]
    result = validate({"email": "not-an-email", "subject": "x" * 11, "score": "9", "topic": "c"}, fields)
    assert set(result.errors) == {"email", "subject", "score", "topic"}
    assert result.raw["subject"] == "x" * 11 and result.raw["email"] == "not-an-email"
    assert "10 characters or fewer" in result.errors["subject"]
    ok = validate({"email": " Ada@Example.COM ", "subject": "Hello", "score": "5", "topic": "b"}, fields)
    assert ok.ok and ok.values == {"email": "Ada@example.com", "subject": "Hello", "score": 5, "topic": "b", "note": None}
    missing = validate({}, fields)
    assert missing.errors["email"] == "Enter email address" and "note" not in missing.errors


@pytest.mark.parametrize("address", ["a@b", "a b@c.de", "a@b..de", "a@-b.de", "a@b.de\r\nBcc: x@y.z",
                                     "<a@b.de>", "a@b.de,c@d.de", "x" * 65 + "@b.de"])
def test_bad_email_addresses_are_refused(address: str) -> None:
    assert Field("email", "Email", kind="email").clean(address)[1] is not None


# -- rate limits ----------------------------------------------------------------------------------


def test_rate_limits_per_scope_and_identity(tmp_path: object) -> None:
    limits = RateLimits(Settings(demo=True, rate_limit_lookup="2/minute", rate_limit_email="1 per hour",
                                 rate_limit_feedback=None))
    assert limits.hit("lookup", "1.2.3.4") is None
    assert limits.hit("lookup", "1.2.3.4") is None
    refused = limits.hit("lookup", "1.2.3.4")
    assert refused is not None and 1 <= refused.retry_after <= 61 and "wait" in refused.message
    assert limits.hit("lookup", "5.6.7.8") is None, "another IP has its own budget"
    assert limits.hit("email", "Ada@Example.com") is None
    email = limits.hit("email", "ada@example.com")
    assert email is not None and "email address" in email.message, "addresses are counted case-insensitively"
    assert all(limits.hit("feedback", "1.2.3.4") is None for _ in range(500)), "None switches a limit off"
    limits.clear()
    assert limits.hit("lookup", "1.2.3.4") is None


def test_json_body_of_a_rate_limit_answer_is_documented_shape() -> None:
    from selfservice.forms import json_error

    response = json_error(429, "slow down", headers={"retry-after": "7"})
    assert json.loads(bytes(response.body)) == {"error": "slow down", "status": 429}
    assert response.headers["retry-after"] == "7" and response.headers["cache-control"] == "no-store"
