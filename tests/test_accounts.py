"""Account actions on the demo backend: reset, reminder, orders, details, billing, audit, forms.

The portal runs with an injected clock (tokens expire without sleeping) and the demo backend
on a SQLite file in tmp_path; mail is read from the outbox it is written to, and one test
delivers it through a real aiosmtpd server on localhost.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from selfservice import Settings, SettingsError, create_portal
from selfservice.accounts import AccountAction, page, require_account
from selfservice.accounts.audit import AuditError, audit
from selfservice.accounts.backend import Account
from selfservice.accounts.demo import DEMO_PASSWORD, DemoBackend
from selfservice.accounts.passwords import password_problems
from selfservice.accounts.tokens import TokenError, Tokens
from selfservice.store import Store, tables
from tests.conftest import SECRET

T = TypeVar("T")
BASE = "https://help.larkspur.example/help"
OLD_KEY = "old-secret-key-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Harness:
    def __init__(self, client: TestClient, clock: Clock) -> None:
        self.c = client
        self.clock = clock
        self.app: Any = client.app

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        return self.c.portal.call(fn)  # type: ignore[union-attr]

    def csrf(self, path: str, action: str | None = None) -> str:
        """The CSRF token of the form on ``path`` that posts to ``action`` (else the first)."""
        r = self.c.get(path)
        assert r.status_code == 200, r.text[-500:]
        for form in re.findall(r"<form\b.*?</form>", r.text, re.S):
            if "csrf_token" in form and (action is None or f'action="{action}"' in form):
                return re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        raise AssertionError(f"no form posting to {action} on {path}")

    def post(self, path: str, data: dict[str, str], *, form_path: str | None = None, **kw: Any) -> Any:
        token = self.csrf(form_path or path, path if form_path else None)
        return self.c.post(path, data={"csrf_token": token, **data}, follow_redirects=False, **kw)

    def mails(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            store = await self.app.ss.get_store()
            async with store.read() as conn:
                rows = (await conn.execute(select(tables.outbox.c.payload).where(tables.outbox.c.kind == "mail")
                                           .order_by(tables.outbox.c.id))).scalars().all()
            return [dict(r) for r in rows]

        return self.run(read)

    def audit(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            store = await self.app.ss.get_store()
            async with store.read() as conn:
                return [dict(r._mapping) for r in (await conn.execute(
                    select(tables.audit_log).order_by(tables.audit_log.c.id))).all()]

        return self.run(read)

    def sign_in(self, login: str = "ann", password: str = DEMO_PASSWORD) -> Any:
        return self.post("/account/sign-in", {"login": login, "password": password})


def make(tmp_path: Path, demo_dir: Path, **extra: Any) -> Iterator[Harness]:
    clock = Clock()
    fields: dict[str, Any] = {"content_dirs": [demo_dir], "secret_key": [SECRET, OLD_KEY], "data_dir": tmp_path,
                              "demo": True, "clock": clock, "base_url": BASE, "rate_limit_account": None,
                              "rate_limit_sign_in": None, **extra}
    app = create_portal(Settings(**fields))
    with TestClient(app, base_url="http://localhost") as client:
        yield Harness(client, clock)


@pytest.fixture
def h(tmp_path: Path, demo_dir: Path) -> Iterator[Harness]:
    yield from make(tmp_path, demo_dir, payment_url="https://pay.larkspur.example/checkout")


def reset_link(h: Harness) -> str:
    link = re.search(r"(https?://\S+/account/reset/\S+)", h.mails()[-1]["text"])
    assert link is not None
    return link.group(1)


# -- password reset ---------------------------------------------------------------------------


def test_reset_response_is_identical_whether_or_not_the_account_exists(h: Harness) -> None:
    known = h.post("/account/reset", {"email": "ann.hughes@example.com"})
    unknown = h.post("/account/reset", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: re.sub(r'name="csrf_token" value="[^"]+"', "", html)  # noqa: E731
    assert strip(known.text) == strip(unknown.text)
    assert "If an account uses that email address" in known.text
    assert [m["to"] for m in h.mails()] == ["ann.hughes@example.com"]
    outcomes = [(a["action"], a["outcome"]) for a in h.audit()]
    assert ("password_reset.request", "sent") in outcomes and ("password_reset.request", "no_account") in outcomes


def test_reset_mail_goes_to_the_stored_address_not_the_typed_one(h: Harness) -> None:
    h.post("/account/reset", {"email": "ANN.Hughes@EXAMPLE.com"})
    (mail,) = h.mails()
    assert mail["to"] == "ann.hughes@example.com"
    assert mail["subject"] == "Reset your Help Centre password"


def test_reset_link_uses_base_url_even_with_a_poisoned_host_header(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"}, headers={"host": "evil.example"})
    link = reset_link(h)
    assert link.startswith(BASE + "/account/reset/")
    assert "evil" not in h.mails()[-1]["text"] and "evil" not in (h.mails()[-1]["html"] or "")


def test_without_base_url_a_non_loopback_host_gets_no_link(tmp_path: Path, demo_dir: Path) -> None:
    for harness in make(tmp_path, demo_dir, base_url=None):
        r = harness.post("/account/reset", {"email": "ann.hughes@example.com"}, headers={"host": "evil.example"})
        assert r.status_code == 200 and "If an account uses that email address" in r.text
        assert harness.mails() == []
        assert harness.audit()[-1]["outcome"] == "no_base_url"


def test_a_reset_link_works_once_and_sends_a_notice(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"})
    path = urlsplit(reset_link(h)).path.removeprefix("/help")
    assert "Choose a new password" in h.c.get(path).text
    new = "tangerine ocean lantern"
    done = h.post(path, {"password": new, "password2": new})
    assert done.status_code == 303 and done.headers["location"] == "/account/reset/done"
    notice = h.mails()[-1]
    assert notice["to"] == "ann.hughes@example.com" and "password was changed" in notice["subject"]
    again = h.c.get(path)
    assert again.status_code == 400 and "This link doesn't work" in again.text
    reuse = h.c.post(path, data={"csrf_token": "x", "password": "another fine phrase", "password2": "another fine phrase"})
    assert reuse.status_code == 400
    assert h.sign_in(password=new).status_code == 303
    assert h.sign_in(password=DEMO_PASSWORD).status_code == 422


def test_a_reset_link_expires_after_an_hour(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"})
    path = urlsplit(reset_link(h)).path.removeprefix("/help")
    h.clock.now += timedelta(minutes=59)
    assert h.c.get(path).status_code == 200
    h.clock.now += timedelta(minutes=2)
    assert h.c.get(path).status_code == 400
    assert h.audit()[-1]["outcome"] == "expired"


def test_a_tampered_link_is_refused(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"})
    path = urlsplit(reset_link(h)).path.removeprefix("/help")
    body, sig = path.rsplit(".", 1)
    forged = body.replace("eyJ1Ijoi", "eyJ1IjoiMi") + "." + sig  # change the account id
    assert h.c.get(forged).status_code == 400
    # Change the signature's first character: the last one of a base64 signature carries
    # padding bits, so changing it does not always change the decoded bytes.
    flipped = body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    assert h.c.get(flipped).status_code == 400
    assert h.c.get("/account/reset/" + "x" * 3000).status_code in (400, 404)


def test_signing_in_retires_older_reset_links(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"})
    path = urlsplit(reset_link(h)).path.removeprefix("/help")
    h.clock.now += timedelta(minutes=1)
    assert h.sign_in().status_code == 303
    assert h.c.get(path).status_code == 400


def test_key_rotation_accepts_old_keys_and_refuses_unknown_ones() -> None:
    ann = Account("1", "ann", "ann@example.com", password_fingerprint="hash-1")
    now = [1_800_000_000.0]
    old = Tokens([OLD_KEY], "password-reset", max_age=3600, clock=lambda: now[0])
    rotated = Tokens([SECRET, OLD_KEY], "password-reset", max_age=3600, clock=lambda: now[0])
    stranger = Tokens(["someone-elses-key-0123456789"], "password-reset", max_age=3600, clock=lambda: now[0])
    assert rotated.check_account(rotated.peek(old.make(ann)), ann) == ann
    with pytest.raises(TokenError) as info:
        rotated.peek(stranger.make(ann))
    assert info.value.reason == "invalid"
    with pytest.raises(TokenError):  # another purpose, same key
        rotated.peek(Tokens([SECRET], "email-change", max_age=3600).make(ann))
    token = rotated.make(ann)
    changed = Account("1", "ann", "ann@example.com", password_fingerprint="hash-2")
    with pytest.raises(TokenError) as info:
        rotated.check_account(rotated.peek(token), changed)
    assert info.value.reason == "used"
    assert "hash-1" not in token


def test_new_passwords_are_checked_and_the_form_is_shown_again(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"})
    path = urlsplit(reset_link(h)).path.removeprefix("/help")
    for password, message in (("short", "at least 10 characters"), ("Password123!", "too common"),
                              ("annhughes2026", "too similar")):
        r = h.post(path, {"password": password, "password2": password})
        assert r.status_code == 422 and message in r.text
        assert password not in r.text.split("</header>", 1)[-1].replace("at least", "")  # never echoed
        assert 'aria-invalid="true"' in r.text and 'aria-describedby="f-password-hint f-password-error"' in r.text
    r = h.post(path, {"password": "tangerine ocean lantern", "password2": "tangerine ocean lanterns"})
    assert r.status_code == 422 and "two passwords are different" in r.text


def test_password_rules() -> None:
    assert password_problems("correct horse battery staple") == []
    assert password_problems("P@ssw0rd2024!")  # l33t + digits of a common one
    assert password_problems("x" * 300)
    assert password_problems("aaaaaaaaaaaa")


# -- username reminder ------------------------------------------------------------------------


def test_username_reminder_is_enumeration_safe(h: Harness) -> None:
    a = h.post("/account/username", {"email": "ben.okafor@example.com"})
    b = h.post("/account/username", {"email": "nobody@example.com"})
    strip = lambda html: re.sub(r'name="csrf_token" value="[^"]+"', "", html)  # noqa: E731
    assert a.status_code == b.status_code == 200 and strip(a.text) == strip(b.text)
    (mail,) = h.mails()
    assert mail["to"] == "ben.okafor@example.com" and "    ben\n" in mail["text"]


# -- forms: CSRF, rate limits, errors ---------------------------------------------------------


def test_posts_without_a_valid_csrf_token_are_refused(h: Harness) -> None:
    h.c.get("/account/reset")
    r = h.c.post("/account/reset", data={"email": "ann.hughes@example.com", "csrf_token": "forged"})
    assert r.status_code == 403 and "expired" in r.text and 'value="ann.hughes@example.com"' in r.text
    assert h.mails() == []


def test_invalid_email_is_422_and_keeps_what_was_typed(h: Harness) -> None:
    r = h.post("/account/reset", {"email": "not an <email>"})
    assert r.status_code == 422
    assert 'value="not an &lt;email&gt;"' in r.text
    assert 'href="#f-email"' in r.text and 'role="alert"' in r.text


def test_rate_limits_answer_429_the_same_for_every_address(tmp_path: Path, demo_dir: Path) -> None:
    for harness in make(tmp_path, demo_dir, rate_limit_account="2/hour"):
        codes = [harness.post("/account/reset", {"email": f"{n}@example.com"}).status_code for n in range(3)]
        assert codes == [200, 200, 429]


def test_the_honeypot_gets_the_normal_answer_but_no_mail(h: Harness) -> None:
    r = h.post("/account/reset", {"email": "ann.hughes@example.com", "website": "http://spam.example"})
    assert r.status_code == 200 and h.mails() == []


# -- orders -----------------------------------------------------------------------------------


def test_guest_order_lookup_by_postcode_or_email(h: Harness) -> None:
    r = h.post("/account/orders", {"number": "lh-100234", "proof": "bs14dj"}, form_path="/account/orders")
    assert r.status_code == 200 and "Order LH-100234" in r.text and "What happens next" in r.text
    assert "Payment taken." in r.text
    r = h.post("/account/orders", {"number": "LH-100234", "proof": "Guest.Buyer@example.com"})
    assert r.status_code == 200


def test_order_lookup_failures_look_alike(h: Harness) -> None:
    wrong_proof = h.post("/account/orders", {"number": "LH-100234", "proof": "SW1A 1AA"})
    no_order = h.post("/account/orders", {"number": "LH-999999", "proof": "SW1A 1AA"})
    assert wrong_proof.status_code == no_order.status_code == 422
    strip = lambda html: re.sub(r'(name="csrf_token" value="[^"]+"|value="LH-\d+")', "", html)  # noqa: E731
    assert strip(wrong_proof.text) == strip(no_order.text)


def test_signed_in_customers_see_all_their_orders(h: Harness) -> None:
    assert h.sign_in().status_code == 303
    r = h.c.get("/account/orders")
    assert "LH-100231" in r.text and "LH-100198" in r.text and "LH-100120" not in r.text
    one = h.c.get("/account/orders/LH-100231")
    assert "Timeline" in one.text and "tracking LK123456789GB" in one.text
    assert "Most deliveries arrive" in one.text
    assert h.c.get("/account/orders/LH-100120").status_code == 404  # ben's


def test_account_pages_need_sign_in_and_come_back_after(h: Harness) -> None:
    r = h.c.get("/account/details", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/account/sign-in?next=%2Faccount%2Fdetails"
    token = h.csrf("/account/sign-in?next=/account/details")
    r = h.c.post("/account/sign-in", data={"csrf_token": token, "login": "ann", "password": DEMO_PASSWORD,
                                          "next": "/account/details"}, follow_redirects=False)
    assert r.headers["location"] == "/account/details"
    evil = h.c.post("/account/sign-in", data={"csrf_token": token, "login": "ann", "password": DEMO_PASSWORD,
                                             "next": "//evil.example/x"}, follow_redirects=False)
    assert evil.headers["location"] == "/account"


def test_wrong_passwords_and_unknown_users_get_the_same_answer(h: Harness) -> None:
    a, b = h.sign_in(password="wrong wrong wrong"), h.sign_in(login="nobody")
    assert a.status_code == b.status_code == 422
    assert "don&#39;t match" in a.text and "don&#39;t match" in b.text


# -- details ----------------------------------------------------------------------------------


def test_update_name_phone_and_preferences(h: Harness) -> None:
    h.sign_in()
    data = {"name": "Ann B. Hughes", "phone": "+44 7700 900999", "line1": "12 Harbour Road", "line2": "",
            "city": "Bristol", "postcode": "BS1 5TT", "country": "United Kingdom", "pref_newsletter": "on"}
    r = h.post("/account/details", data)
    assert r.status_code == 303
    page_ = h.c.get(r.headers["location"])
    assert "Your changes have been saved" in page_.text and 'value="Ann B. Hughes"' in page_.text
    assert 'id="f-pref_newsletter" name="pref_newsletter" checked' in page_.text
    entry = h.audit()[-1]
    assert entry["action"] == "profile.update" and entry["details"]["fields"] == ["name", "phone", "preferences"]


def test_changing_the_address_needs_the_password(h: Harness) -> None:
    h.sign_in()
    data = {"name": "Ann Hughes", "phone": "07700 900123", "line1": "1 New Street", "city": "Bath",
            "postcode": "BA1 1AA", "country": "United Kingdom", "pref_order_updates": "on"}
    r = h.post("/account/details", data)
    assert r.status_code == 422 and "current password to change your address" in r.text
    assert 'value="1 New Street"' in r.text
    r = h.post("/account/details", {**data, "current_password": DEMO_PASSWORD})
    assert r.status_code == 303
    assert "1 New Street" in h.c.get("/account/details").text


def test_email_change_is_confirmed_from_the_new_address_and_the_old_one_is_told(h: Harness) -> None:
    h.sign_in()
    r = h.post("/account/details/email", {"new_email": "ann@new.example", "email_password": "nope"},
               form_path="/account/details")
    assert r.status_code == 422 and "current password is not right" in r.text
    r = h.post("/account/details/email", {"new_email": "ann@new.example", "email_password": DEMO_PASSWORD},
               form_path="/account/details")
    assert r.status_code == 200 and "ann@new.example" in r.text
    confirm = h.mails()[-1]
    assert confirm["to"] == "ann@new.example"
    link = re.search(r"https://\S+/account/details/email/\S+", confirm["text"])
    assert link is not None and link.group(0).startswith(BASE)
    path = urlsplit(link.group(0)).path.removeprefix("/help")
    assert "ann.hughes@example.com" in h.c.get("/account/details").text  # not changed yet
    done = h.post(path, {})
    assert done.status_code == 200 and "Email address changed" in done.text
    notice = h.mails()[-1]
    assert notice["to"] == "ann.hughes@example.com" and "was changed" in notice["subject"]
    assert h.c.get(path).status_code == 400  # the link worked once


# -- billing ----------------------------------------------------------------------------------


def test_pay_hands_off_with_a_signed_return_and_never_asks_for_cards(h: Harness) -> None:
    h.sign_in()
    billing = h.c.get("/account/billing")
    assert "£49.99" in billing.text and "INV-2026-0412" in billing.text and "card" not in billing.text.split(
        "never see your card")[0].lower()
    r = h.post("/account/billing/pay", {"invoice": "INV-2026-0412"}, form_path="/account/billing")
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.netloc == "pay.larkspur.example"
    q = parse_qs(target.query)
    assert q["invoice"] == ["INV-2026-0412"] and q["amount"] == ["4999"] and q["currency"] == ["GBP"]
    back = urlsplit(q["return_url"][0])
    assert f"{back.scheme}://{back.netloc}{back.path}" == BASE + "/account/billing/return"
    ok = h.c.get("/account/billing/return?" + back.query)
    assert ok.status_code == 200 and "Thank you" in ok.text
    assert h.c.get("/account/billing/return?r=forged").status_code == 400
    paid = h.post("/account/billing/pay", {"invoice": "INV-2026-0311"}, form_path="/account/billing")
    assert paid.status_code == 422  # already paid


# -- audit, extension, demo backend -----------------------------------------------------------


def test_the_audit_log_never_holds_secrets(h: Harness) -> None:
    h.post("/account/reset", {"email": "ann.hughes@example.com"})
    path = urlsplit(reset_link(h)).path.removeprefix("/help")
    token = path.rsplit("/", 1)[1]
    h.post(path, {"password": "tangerine ocean lantern", "password2": "tangerine ocean lantern"})
    h.sign_in(password="tangerine ocean lantern")
    rows = h.audit()
    assert {r["action"] for r in rows} >= {"password_reset.request", "password_reset.complete", "sign_in"}
    dump = repr(rows)
    assert token not in dump and "tangerine" not in dump and DEMO_PASSWORD not in dump and "scrypt$" not in dump
    assert all(r["actor"] in ("anonymous", "account:1") and r["created_at"].tzinfo is UTC for r in rows)


def test_audit_refuses_secret_details() -> None:
    import asyncio

    with pytest.raises(AuditError):
        asyncio.run(audit(None, action="sign_in", outcome="ok", password="x"))  # type: ignore[arg-type]


def test_a_host_adds_its_own_action(tmp_path: Path, demo_dir: Path) -> None:
    async def returns(request: Any) -> Any:
        account = await require_account(request)
        if not isinstance(account, Account):
            return account
        return page(request, "account_reset_sent.html", "Start a return", message=f"Returns for {account.username}")

    action = AccountAction(slug="returns", title="Start a return", summary="Send something back.",
                           routes=[Route("/", returns, name="account_returns")], menu_route="account_returns",
                           audience="signed_in")
    for harness in make(tmp_path, demo_dir, account_actions=[action]):
        assert "Start a return" not in harness.c.get("/account").text
        harness.sign_in()
        assert 'href="/account/returns"' in harness.c.get("/account").text
        assert "Returns for ann" in harness.c.get("/account/returns").text


def test_account_settings_are_validated(tmp_path: Path) -> None:
    base = {"content_dirs": [tmp_path], "secret_key": SECRET}
    for field, value in (("payment_url", "javascript:pay()"), ("password_min_length", 4),
                         ("account_token_max_age", 10), ("rate_limit_sign_in", "lots"), ("account_backend", object())):
        with pytest.raises(SettingsError) as info:
            Settings(**base, **{field: value}).validate()  # type: ignore[arg-type]
        assert info.value.field == field
    with pytest.raises(SettingsError) as info:
        Settings(**base, account_backend=DemoBackend(Store("sqlite+aiosqlite:///" + str(tmp_path / "x.db")))).validate()
    assert info.value.field == "base_url"


@pytest.mark.anyio
async def test_demo_backend_on_both_databases(store: Store) -> None:
    backend = DemoBackend(store, hash_cost=2**10)
    assert await backend.seed() is True and await backend.seed() is False
    ann = await backend.get_by_email("ANN.HUGHES@example.com")
    assert ann is not None and ann.username == "ann" and ann.address.city == "Bristol"
    assert await backend.check_password(ann, DEMO_PASSWORD)
    assert not await backend.check_password(Account("", "", ""), DEMO_PASSWORD)
    changed = await backend.set_password(ann, "a brand new phrase")
    assert changed.password_fingerprint != ann.password_fingerprint
    orders = await backend.orders(ann)
    assert [o.number for o in orders] == ["LH-100231", "LH-100198"] and orders[0].events[-1].status == "shipped"
    assert (await backend.balance(ann)).minor == 4999
    assert await backend.get_by_id("nope") is None and await backend.find_order("LH-0") is None


# -- mail over real SMTP ----------------------------------------------------------------------


def test_reset_mail_reaches_a_real_smtp_server(h: Harness) -> None:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    from selfservice.mail import SMTPMailer, build_message

    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.content)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        h.post("/account/reset", {"email": "ann.hughes@example.com"})
        mailer = SMTPMailer("127.0.0.1", port, tls="none", timeout=5)
        for payload in h.mails():
            h.run(lambda p=payload: mailer.send(build_message(p, "Help <help@larkspur.example>")))  # type: ignore[misc]
    finally:
        controller.stop()
    (raw,) = received
    msg = message_from_bytes(raw)
    assert msg["To"] == "ann.hughes@example.com"
    body = msg.get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert BASE + "/account/reset/" in body


# -- no input makes a 500 ---------------------------------------------------------------------

POSTS = ["/account/reset", "/account/username", "/account/orders", "/account/sign-in", "/account/details",
         "/account/details/email", "/account/billing/pay", "/account/sign-out", "/account/reset/abc.def.ghi"]
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[Harness]:
    yield from make(tmp_path_factory.mktemp("fuzz"), demo_dir)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(path=st.sampled_from(POSTS), fields=st.dictionaries(
    st.sampled_from(["email", "login", "password", "password2", "number", "proof", "name", "phone", "line1",
                     "postcode", "new_email", "email_password", "invoice", "csrf_token", "website", "next", "x"]),
    text, max_size=8), use_token=st.booleans(), raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_arbitrary_posts_never_cause_a_server_error(fuzz: Harness, path: str, fields: dict[str, str],
                                                    use_token: bool, raw: bytes | None) -> None:
    if use_token:
        fields = {**fields, "csrf_token": fuzz.csrf("/account/reset")}
    if raw is not None:
        r = fuzz.c.post(path, content=raw, headers={"content-type": "multipart/form-data; boundary=x"},
                        follow_redirects=False)
    else:
        r = fuzz.c.post(path, data=fields, follow_redirects=False)
    assert r.status_code < 500, r.text[-800:]


def test_the_django_example_satisfies_the_protocol_without_django() -> None:
    import importlib.util

    from selfservice.accounts import AccountBackend

    path = Path(__file__).resolve().parent.parent / "examples" / "django_accounts.py"
    spec = importlib.util.spec_from_file_location("example_django_accounts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    backend = module.DjangoAccounts(login_url="/accounts/login/")
    assert isinstance(backend, AccountBackend)
    Settings(content_dirs=[path.parent], secret_key=SECRET, base_url=BASE, account_backend=backend).validate()
