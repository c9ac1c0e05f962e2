"""The staff inbox (selfservice/views/inbox.py, selfservice/store/inbox.py): who gets in, the list
and its filters on both backends, the request page, reply (mailed through a real SMTP server and
shown to the customer), status changes, assignees, internal notes, CSRF, and the audit log."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.routing import Mount
from starlette.testclient import TestClient

from selfservice import Portal
from selfservice.mail import MemoryMailer, SMTPMailer
from selfservice.store import Store, tables
from selfservice.store.inbox import InboxFilter
from tests.test_feedback import db_settings, desk_over, env_portal, portal_for, token_in  # noqa: F401
from tests.test_mail import Inbox, smtp  # noqa: F401
from tests.test_requests import FORM, submit

STAFF = {"x-staff": "grace"}


def header_staff(request: Request) -> bool:
    """The test host's rule: a request carrying ``X-Staff`` is staff (a real host checks a session)."""
    return bool(request.headers.get("x-staff"))


@pytest.fixture
def staffed(tmp_path: Path, db_settings: dict[str, Any]) -> Iterator[tuple[Portal, TestClient, MemoryMailer]]:
    mailer = MemoryMailer()
    portal = portal_for(tmp_path, db_settings, mailer=mailer, is_staff=header_staff,
                        base_url="https://help.larkspur.example")
    with TestClient(portal) as client:
        client.portal.call(portal.desk.store)  # type: ignore[union-attr]
        client.portal.call(portal.desk.worker.stop)  # type: ignore[union-attr]  # the tests run the outbox
        yield portal, client, mailer


def call(client: TestClient, fn: Any, *args: Any, **kwargs: Any) -> Any:
    return client.portal.call(functools.partial(fn, *args, **kwargs))  # type: ignore[union-attr]


def create(client: TestClient, portal: Portal, kind: str = "contact", **fields: Any) -> str:
    values = {"topic": "billing", "subject": "Charged twice", "message": "My card was charged twice.",
              "email": "ada@example.com", **fields}
    return str(call(client, portal.requests.create, kind, **values).reference)


def rows(client: TestClient, portal: Portal, table: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        store = await portal.desk.store()
        async with store.read() as conn:
            return [dict(r) for r in (await conn.execute(select(table).order_by(table.c.id))).mappings().all()]

    return list(client.portal.call(run))  # type: ignore[union-attr]


def references(html: str) -> list[str]:
    """The references in the inbox table, in the order shown."""
    return re.findall(r'<th scope="row"><a href="/staff/requests/([^"]+)">', html)


def act(client: TestClient, reference: str, action: str, **data: str) -> Any:
    page = client.get(f"/staff/requests/{reference}", headers=STAFF)
    assert page.status_code == 200
    return client.post(f"/staff/requests/{reference}/{action}", headers=STAFF, follow_redirects=False,
                       data={"csrf_token": token_in(page.text), **data})


# -- who gets in ----------------------------------------------------------------------------------


def test_no_is_staff_means_403_everywhere(tmp_path: Path) -> None:
    portal = portal_for(tmp_path, {})
    with TestClient(portal) as client:
        reference = create(client, portal)
        for method, path in (("GET", "/staff/"), ("GET", f"/staff/requests/{reference}"),
                             ("POST", f"/staff/requests/{reference}/note")):
            r = client.request(method, path, headers=STAFF, data={"note": "sneaky"} if method == "POST" else None)
            assert r.status_code == 403, path
            assert "Charged twice" not in r.text and "ss-timeline" not in r.text and "ss-inbox" not in r.text
        assert [e.kind for e in call(client, portal.requests.get, reference).events] == ["status"]


def test_is_staff_decides_and_may_be_async(tmp_path: Path) -> None:
    seen: list[str] = []

    async def async_staff(request: Request) -> bool:
        seen.append(request.url.path)
        return request.headers.get("x-staff") == "grace"

    for rule, allowed in ((lambda request: False, False), (lambda request: "yes", False), (async_staff, True)):
        portal = portal_for(tmp_path, {}, is_staff=rule)
        with TestClient(portal) as client:
            r = client.get("/staff/", headers=STAFF)
            assert r.status_code == (200 if allowed else 403), "only True lets in; a truthy string is not a yes"
            assert client.get("/staff/").status_code == 403
    assert seen == ["/staff/", "/staff/"]


def test_staff_pages_are_private_and_unindexed(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal)
    for path in ("/staff/", f"/staff/requests/{reference}"):
        r = client.get(path, headers=STAFF)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "private, no-store" and r.headers["x-robots-tag"] == "noindex, nofollow"
        assert '<meta name="robots" content="noindex">' in r.text and 'aria-current="page"' in r.text


def test_the_local_demo_opens_the_staff_area_to_its_own_browser_only(tmp_path: Path) -> None:
    portal = portal_for(tmp_path, {}, demo=True, secret_key=None)
    local = {"client": ("127.0.0.1", 50000), "base_url": "http://127.0.0.1:8000"}
    with TestClient(portal, **local) as client:  # type: ignore[arg-type]
        assert client.get("/staff/").status_code == 200
        assert client.get("/staff/", headers={"host": "help.larkspur.example"}).status_code == 403, "a proxy"
    with TestClient(portal, client=("::1", 50000), base_url="http://localhost:8000") as client:
        assert client.get("/staff/").status_code == 200
    with TestClient(portal, client=("192.0.2.10", 50000), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/staff/").status_code == 403
    with TestClient(portal) as client:  # the test client's own name, "testclient", is no address
        assert client.get("/staff/").status_code == 403
    decided = portal_for(tmp_path, {}, demo=True, secret_key=None, is_staff=lambda request: False)
    with TestClient(decided, **local) as client:  # type: ignore[arg-type]
        assert client.get("/staff/").status_code == 403, "a host's is_staff always wins"


class TokenAuth(AuthenticationBackend):
    """Stands in for a host's session login: ``Authorization: Staff <name>``."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, name = conn.headers.get("authorization", "").partition(" ")
        if scheme != "Staff" or not name:
            return None
        return AuthCredentials(["authenticated", "staff"]), SimpleUser(name)


def test_a_host_with_authentication_middleware_mounted_under_a_prefix(tmp_path: Path) -> None:
    def is_staff(request: Request) -> bool:
        return request.user.is_authenticated and "staff" in request.auth.scopes

    portal = portal_for(tmp_path, {}, is_staff=is_staff)
    host = Starlette(routes=[Mount("/help", app=portal)], middleware=[Middleware(AuthenticationMiddleware, backend=TokenAuth())])
    with TestClient(host) as client:
        reference = create(client, portal)
        assert client.get("/help/staff/").status_code == 403
        grace = {"authorization": "Staff grace"}
        page = client.get("/help/staff/", headers=grace)
        assert page.status_code == 200 and f'href="/help/staff/requests/{reference}"' in page.text
        assert re.search(r'href="/help/static/inbox\.[0-9a-f]+\.css"', page.text) and 'href="/help/"' in page.text
        detail = client.get(f"/help/staff/requests/{reference}", headers=grace)
        done = client.post(f"/help/staff/requests/{reference}/assign", headers=grace, follow_redirects=False,
                           data={"csrf_token": token_in(detail.text), "to": "me"})
        assert done.status_code == 303 and done.headers["location"].startswith(f"/help/staff/requests/{reference}?done=")
        assert call(client, portal.requests.get, reference).assignee == "grace"
        entry = rows(client, portal, tables.audit_log)[-1]
        assert (entry["actor"], entry["action"], entry["outcome"]) == ("grace", "request.assign", "ok")


# -- the list and its filters -----------------------------------------------------------------------


def test_inbox_lists_filters_and_counts(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    start = datetime.now(UTC) - timedelta(days=10)
    portal.desk.clock = lambda: start
    old_complaint = create(client, portal, "complaint", subject="Broken kettle", email="bob@example.com", topic="product")
    portal.desk.clock = lambda: start + timedelta(days=9)
    fresh = create(client, portal, subject="Where is my parcel 100%", topic="order")
    via_form = submit(client, "complaint")
    assert via_form.status_code == 303
    portal.desk.clock = lambda: start + timedelta(days=9, hours=1)
    closed = create(client, portal, subject="Old question", email="cy@example.com")
    call(client, portal.requests.update_status, closed, "closed", reply="Answered.")
    call(client, portal.requests.assign, fresh, "linus", actor="grace")
    portal.desk.clock = lambda: start + timedelta(days=11)  # complaints: 10 days to answer

    page = client.get("/staff/", headers=STAFF)
    shown = references(page.text)
    assert page.status_code == 200 and len(shown) == 3 and closed not in shown, "open ones by default"
    assert shown[0] == old_complaint, "overdue first: the complaint was due days ago"
    assert 'class="ss-inbox-row ss-inbox-row--overdue"' in page.text and '<a href="/staff/?overdue=1">Overdue: 1</a>' in page.text
    assert "Open <span class=\"ss-inbox-counts__n\">3</span>" in page.text
    assert "Closed <span class=\"ss-inbox-counts__n\">1</span>" in page.text
    assert "<caption>Requests 1–3 of 3</caption>" in page.text and '<th scope="col">Assignee</th>' in page.text
    assert "Unassigned" in page.text and "linus" in page.text and "bob@example.com" in page.text

    def shown_for(**query: str) -> list[str]:
        r = client.get("/staff/", params=query, headers=STAFF)
        assert r.status_code == 200, (query, r.text[:500])
        return references(r.text)

    assert shown_for(status="any")[-1] == closed and len(shown_for(status="any")) == 4
    assert shown_for(status="closed") == [closed]
    assert shown_for(overdue="1") == [old_complaint]
    assert set(shown_for(kind="complaint")) == {old_complaint, *[r for r in shown if r.startswith("C-")]}
    assert len(shown_for(kind="complaint")) == 2 and shown_for(kind="contact") == [fresh]
    assert shown_for(topic="product") == [old_complaint]
    assert shown_for(assignee="linus") == [fresh] and fresh not in shown_for(assignee="unassigned")
    assert shown_for(assignee="me") == [], "grace has nothing assigned"
    assert shown_for(q=fresh.lower()) == [fresh] and shown_for(q="BOB@example") == [old_complaint]
    assert shown_for(q="100%") == [fresh] and shown_for(q="%") == [fresh], "% is a character, not a wildcard"
    assert shown_for(q="cy@example.com") == [] and shown_for(q="cy@example.com", status="any") == [closed]
    assert shown_for(q="\x00bob\x07") == [old_complaint] and shown_for(assignee="lin\x00us") == [fresh], "NUL: no 500"
    assert shown_for(sort="newest")[-1] == old_complaint
    assert shown_for(status="resolved") == [] and "No requests match these filters." in client.get(
        "/staff/", params={"status": "resolved"}, headers=STAFF).text


def test_inbox_pages(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    made = [create(client, portal, subject=f"Question {n}") for n in range(27)]
    first = client.get("/staff/", params={"sort": "newest", "kind": "contact"}, headers=STAFF)
    assert len(references(first.text)) == 25 and "Page 1 of 2" in first.text
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following and "kind=contact" in following.group(1) and "sort=newest" in following.group(1)
    second = client.get(following.group(1).replace("&amp;", "&"), headers=STAFF)
    assert references(second.text) == made[:2][::-1] and 'rel="prev"' in second.text
    assert references(client.get("/staff/?page=9", headers=STAFF).text) == []


BAD_FILTERS = [
    ("status=lost", "Status: choose open, any or one of the statuses."),
    ("kind=letter", "Kind: choose contact or complaint."),
    ("topic=weather", "Topic: choose one of the topics."),
    ("overdue=maybe", "Overdue: leave it out, or give 1."),
    ("sort=random", "Order: choose most urgent, newest or recently updated."),
    ("page=0", "Page: give a whole number from 1."),
    ("page=-1", "Page: give a whole number from 1."),
    ("page=%C2%B2", "Page: give a whole number from 1."),
    ("page=99999999999", "Page: give a whole number from 1."),
    ("q=" + "x" * 201, "Search: use at most 200 characters."),
    ("assignee=" + "x" * 121, "Assignee: a name has at most 120 characters."),
]


def test_bad_filters_are_a_400_that_says_which(tmp_path: Path) -> None:
    portal = portal_for(tmp_path, {}, is_staff=header_staff)
    with TestClient(portal) as client:
        for query, message in BAD_FILTERS:
            r = client.get(f"/staff/?{query}", headers=STAFF)
            assert r.status_code == 400 and message in r.text and 'role="alert"' in r.text, query
            assert '<form class="ss-form ss-inbox-filters"' in r.text, "the filter form stays to fix it"
        both = client.get("/staff/?status=lost&kind=letter", headers=STAFF)
        assert both.status_code == 400 and 'href="#f-filter-status"' in both.text and 'href="#f-filter-kind"' in both.text


@pytest.fixture
def fuzzed(tmp_path: Path, db_settings: dict[str, Any]) -> Iterator[tuple[Portal, TestClient, str]]:
    portal = portal_for(tmp_path, db_settings, is_staff=header_staff, rate_limit_feedback=None)
    with TestClient(portal) as client:
        yield portal, client, create(client, portal)


_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["open", "any", "closed", "1", "me", "unassigned", "received",
                                                           "contact", "billing", "0", "-5", "newest", "\x00", "é" * 130]))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(query=st.dictionaries(st.sampled_from(["status", "kind", "topic", "overdue", "assignee", "q", "sort", "page",
                                              "x"]), _TEXT),
       action=st.sampled_from(["reply", "status", "assign", "note"]),
       form=st.dictionaries(st.sampled_from(["reply", "reply_status", "status", "assignee", "to", "note"]), _TEXT))
def test_no_filter_or_form_gives_a_500(fuzzed: tuple[Portal, TestClient, str], query: dict[str, str], action: str,
                                       form: dict[str, str]) -> None:
    _, client, reference = fuzzed
    r = client.get("/staff/", params=query, headers=STAFF)
    assert r.status_code in (200, 400), (query, r.text[:300])
    token = token_in(client.get(f"/staff/requests/{reference}", headers=STAFF).text)
    posted = client.post(f"/staff/requests/{reference}/{action}", headers=STAFF, follow_redirects=False,
                         data={**form, "csrf_token": token})
    assert posted.status_code in (303, 422), (action, form, posted.text[:300])


@pytest.mark.anyio
async def test_the_store_query_on_both_backends(store: Store, env_portal: Portal) -> None:
    async with desk_over(store, env_portal) as desk:
        now = desk.clock()
        refs = [(await desk.requests.create(kind, topic=topic, subject=subject, message="A message long enough.",
                                            email=email)).reference
                for kind, topic, subject, email in (("contact", "order", "Parcel_late", "ada@example.com"),
                                                    ("complaint", "billing", "Double charge", "BOB@Example.com"),
                                                    ("contact", "other", "Parcel lost", "cy@example.com"))]
        await desk.requests.update_status(refs[2], "resolved", reply="Found it.", actor="grace")
        await desk.requests.assign(refs[1], "linus", actor="grace")
        everything = await desk.requests.inbox(InboxFilter(status="any"))
        assert [r.reference for r in everything.rows] == [refs[0], refs[1], refs[2]], "open first, by due date"
        assert everything.total == 3 and everything.counts == {"received": 2, "resolved": 1}
        assert everything.overdue == 0 and not any(r.overdue(now) for r in everything.rows)
        late = now + timedelta(days=4)
        desk.clock = lambda: late
        overdue = await desk.requests.inbox(InboxFilter(overdue=True))
        assert [r.reference for r in overdue.rows] == [refs[0]] and overdue.overdue == 1, "contact: 3 days"
        assert (await desk.requests.inbox(InboxFilter(text="parcel_"))).total == 1, "_ is no wildcard"
        assert (await desk.requests.inbox(InboxFilter(text="bob@example"))).rows[0].assignee == "linus"
        assert (await desk.requests.inbox(InboxFilter(assignee=""))).total == 1
        assert (await desk.requests.inbox(InboxFilter(status="resolved", kind="contact", topic="other"))).total == 1
        paged = await desk.requests.inbox(InboxFilter(status="any", sort="newest", per_page=2, page=2))
        assert [r.reference for r in paged.rows] == [refs[0]] and paged.pages == 2
        assert await desk.requests.assignees() == ["linus"]
        for bad in ({"status": "lost"}, {"kind": "letter"}, {"sort": "x"}, {"page": 0}, {"per_page": 500}):
            with pytest.raises(ValueError):
                InboxFilter(**bad)


# -- one request and the staff actions --------------------------------------------------------------


def test_request_page_shows_everything_to_staff(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal, "complaint", order_ref="ORD-1042")
    call(client, portal.requests.add_note, reference, "Called the bank", actor="linus")
    page = client.get(f"/staff/requests/{reference}", headers=STAFF)
    html = page.text
    assert page.status_code == 200 and "Charged twice" in html and "ada@example.com" in html and "ORD-1042" in html
    assert "My card was charged twice." in html and "Response due" in html
    assert "ss-timeline__item--internal" in html and "Internal – the customer does not see this" in html
    assert "linus: Called the bank" in html
    stamps = re.findall(r'<time datetime="(\S+)">([^<]+)</time>', html.split('id="ss-timeline"')[1].split("</section>")[0])
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", iso) and shown.endswith(" UTC") for iso, shown in stamps)
    for name in ("reply", "reply_status", "status", "assignee", "note"):
        assert f'<label class="ss-field__label" for="f-{name}">' in html and f'id="f-{name}"' in html
    offered = re.findall(r'<option value="(\w+)">', html.split('id="f-status"')[1].split("</select>")[0])
    assert offered == ["acknowledged", "in_progress", "waiting_for_customer", "resolved", "closed"]
    assert client.get("/staff/requests/R-XXXX-XXXX", headers=STAFF).status_code == 404
    assert client.get("/staff/requests/not-a-reference", headers=STAFF).status_code == 404


def test_reply_reaches_the_customer_by_smtp_and_on_their_status_page(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    portal = portal_for(tmp_path, {}, is_staff=header_staff, base_url="https://help.larkspur.example")
    portal.desk.mailer = SMTPMailer("127.0.0.1", port, tls="none")
    with TestClient(portal) as client:
        client.portal.call(portal.desk.store)  # type: ignore[union-attr]
        client.portal.call(portal.desk.worker.stop)  # type: ignore[union-attr]
        reference = create(client, portal)
        assert act(client, reference, "note", note="Refund approved by finance").status_code == 303
        done = act(client, reference, "reply", reply="We have refunded the second charge.",
                   reply_status="waiting_for_customer")
        assert done.status_code == 303 and done.headers["location"] == f"/staff/requests/{reference}?done=reply#ss-timeline"
        assert "Your reply was sent to the customer." in client.get(done.headers["location"], headers=STAFF).text
        assert client.portal.call(portal.desk.worker.run_once) == 2  # type: ignore[union-attr]  # ack + reply
        mails = [message_from_bytes(m.content) for m in inbox.messages if m.rcpt_tos == ["ada@example.com"]]
        update = next(m for m in mails if "Waiting for your reply" in str(m["Subject"]))
        text = _plain(update)
        assert "We have refunded the second charge." in text and "Refund approved" not in text
        link = re.search(r"https://help\.larkspur\.example(/requests/\S+)", text)
        assert link
        client.cookies.clear()  # the customer's own browser: no staff header, no cookies (and the same
        status_page = client.get(link.group(1))  # event loop: a second client outside it would leak a connection)
        assert status_page.status_code == 200 and "We have refunded the second charge." in status_page.text
        assert "Refund approved by finance" not in status_page.text, "internal notes never reach the customer"
        assert "Waiting for your reply" in status_page.text
        timeline = status_page.text.split('id="ss-timeline"')[1].split("</section>")[0]
        assert "Our reply" in timeline and "Staff reply" not in timeline and " UTC</time>" in timeline


def _plain(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text part")


def test_status_changes_and_a_forbidden_one(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, mailer = staffed
    reference = create(client, portal)
    assert act(client, reference, "status", status="in_progress").status_code == 303
    assert call(client, portal.requests.get, reference).status == "in_progress"
    refused = act(client, reference, "status", status="received")
    assert refused.status_code == 422 and "a request cannot go back to &#39;received&#39;" in refused.text
    assert "Nothing was changed" in refused.text
    same = act(client, reference, "status", status="in_progress")
    assert same.status_code == 422 and "already in that status" in same.text
    assert act(client, reference, "status", status="lost").status_code == 422
    assert act(client, reference, "status", status="resolved").status_code == 303
    record = call(client, portal.requests.get, reference)
    assert record.status == "resolved" and record.resolved_at is not None
    log = [(e["action"], e["outcome"], e["details"]) for e in rows(client, portal, tables.audit_log)]
    assert log == [
        ("request.status", "ok", {"from": "received", "to": "in_progress", "reply_chars": 0, "note": False}),
        ("request.status", "refused", {"reason": "a request cannot go back to 'received'"}),
        ("request.status", "refused", {"reason": "The request is already in that status."}),
        ("request.status", "ok", {"from": "in_progress", "to": "resolved", "reply_chars": 0, "note": False}),
    ]
    client.portal.call(portal.desk.worker.run_once)  # type: ignore[union-attr]
    assert any("Resolved" in str(m["Subject"]) for m in mailer.sent), "resolving tells the customer"


def test_assign_to_a_name_to_me_and_to_nobody(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal)
    assert act(client, reference, "assign", assignee="  Linus   T. ", to="name").status_code == 303
    assert call(client, portal.requests.get, reference).assignee == "Linus T."
    empty = act(client, reference, "assign", assignee="", to="name")
    assert empty.status_code == 422 and "Enter a name" in empty.text
    assert act(client, reference, "assign", to="me").status_code == 303
    assert call(client, portal.requests.get, reference).assignee == "staff", "no signed-in user: 'staff'"
    again = act(client, reference, "assign", to="me")
    assert again.status_code == 422 and "already assigned to staff" in again.text
    assert act(client, reference, "assign", to="none").status_code == 303
    record = call(client, portal.requests.get, reference)
    assert record.assignee is None
    assert [e.body for e in record.events if e.kind == "assignment"] == [
        "staff: assigned to Linus T.", "staff: assigned to staff", "staff: unassigned (was staff)"]
    assert all(e.internal for e in record.events if e.kind == "assignment")
    customer = call(client, portal.requests.get, reference, internal=False)
    assert not [e for e in customer.events if e.kind == "assignment"] and "assignee" not in customer.public()
    assigns = [e["details"] for e in rows(client, portal, tables.audit_log) if e["action"] == "request.assign"]
    assert assigns == [{"from": None, "to": "Linus T."}, {"from": "Linus T.", "to": "staff"},
                       {"reason": "The request is already assigned to staff."}, {"from": "staff", "to": None}]


def test_csrf_is_required_and_a_refusal_changes_nothing(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal)
    page = client.get(f"/staff/requests/{reference}", headers=STAFF)
    customer_token = token_in(client.get("/contact").text)
    for data in ({"note": "no token"}, {"note": "forged", "csrf_token": "abc"},
                 {"note": "another forms token", "csrf_token": customer_token}):
        r = client.post(f"/staff/requests/{reference}/note", headers=STAFF, data=data)
        assert r.status_code == 403 and "This form had expired, so nothing was changed." in r.text
        assert data["note"] in r.text, "what was typed comes back"
    fresh = TestClient(portal)  # no ss_csrf cookie at all
    r = fresh.post(f"/staff/requests/{reference}/reply", headers=STAFF,
                   data={"reply": "Hello", "csrf_token": token_in(page.text)})
    assert r.status_code == 403
    assert [e.kind for e in call(client, portal.requests.get, reference).events] == ["status"]
    assert rows(client, portal, tables.audit_log) == []


def test_bad_posts_are_4xx(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal)
    token = token_in(client.get(f"/staff/requests/{reference}", headers=STAFF).text)
    post = functools.partial(client.post, headers=STAFF, follow_redirects=False)
    assert post(f"/staff/requests/{reference}/delete", data={"csrf_token": token}).status_code == 404
    assert post("/staff/requests/R-XXXX-XXXX/note", data={"csrf_token": token, "note": "hi there"}).status_code == 404
    assert post(f"/staff/requests/{reference}/note", content=b"\x00", headers={**STAFF, "content-type": "text/plain"}
                ).status_code == 415
    too_long = post(f"/staff/requests/{reference}/note", data={"csrf_token": token, "note": "x" * 5001})
    assert too_long.status_code == 422 and "5,000 characters or fewer" in too_long.text
    assert post(f"/staff/requests/{reference}/reply", data={"csrf_token": token, "reply": " "}).status_code == 422
    assert client.get(f"/staff/requests/{reference}/note", headers=STAFF).status_code == 405


def test_every_action_is_audited_without_message_text(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal)
    assert act(client, reference, "reply", reply="Secret-ish customer details here").status_code == 303
    assert act(client, reference, "note", note="Internal remark about the card").status_code == 303
    assert act(client, reference, "assign", to="me").status_code == 303
    assert act(client, reference, "status", status="closed").status_code == 303
    log = rows(client, portal, tables.audit_log)
    assert [(e["actor"], e["action"], e["target"], e["outcome"]) for e in log] == [
        ("staff", "request.reply", reference, "ok"), ("staff", "request.note", reference, "ok"),
        ("staff", "request.assign", reference, "ok"), ("staff", "request.status", reference, "ok")]
    assert log[0]["details"] == {"from": "received", "to": "received", "reply_chars": 32, "note": False}
    assert log[1]["details"] == {"chars": 30}
    assert all(e["created_at"].tzinfo is not None for e in log)
    dumped = repr(log)
    assert "Secret-ish" not in dumped and "Internal remark" not in dumped
    record = call(client, portal.requests.get, reference)
    assert record.status == "closed" and record.first_response_at is not None


def test_rate_limit_per_staff_member(tmp_path: Path) -> None:
    portal = portal_for(tmp_path, {}, is_staff=header_staff, rate_limit_feedback="2/minute")
    with TestClient(portal) as client:
        reference = create(client, portal)
        assert act(client, reference, "note", note="first note").status_code == 303
        assert act(client, reference, "note", note="second note").status_code == 303
        third = act(client, reference, "note", note="third note")
        assert third.status_code == 429 and third.headers["retry-after"] and "third note" in third.text
        notes = [e.body for e in call(client, portal.requests.get, reference).events if e.kind == "note"]
        assert notes == ["staff: first note", "staff: second note"]


def test_the_inbox_speaks_german(staffed: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = staffed
    reference = create(client, portal)
    call(client, portal.requests.update_status, reference, "in_progress")
    listed = client.get("/staff/?lang=de", headers=STAFF)
    assert listed.status_code == 200 and "<h1 class=\"ss-page-header__title\">Posteingang</h1>" in listed.text
    assert "In Bearbeitung" in listed.text and "Nicht zugewiesen" in listed.text
    detail = client.get(f"/staff/requests/{reference}?lang=de", headers=STAFF)
    assert "Interne Notiz" in detail.text and "Dem Kunden antworten" in detail.text


# -- in a real browser: the local demo, accessibility, keyboard ------------------------------------


def test_demo_staff_pages_in_chromium_have_no_serious_axe_violations(tmp_path: Path) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright", reason="needs axe-playwright-python")
    import json
    import urllib.request

    from selfservice import Settings, create_portal
    from tests.live import launch_chromium, listening_socket, serving

    portal = create_portal(Settings(demo=True, data_dir=tmp_path))
    sock = listening_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/help"
    with serving(Starlette(routes=[Mount("/help", app=portal)]), [sock]), launch_chromium() as browser:
        made = urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/requests", data=json.dumps({**FORM, "kind": "complaint"}).encode(),
            headers={"content-type": "application/json"}))
        reference = json.loads(made.read())["reference"]
        failures: list[str] = []
        for scheme, width in (("light", 1280), ("dark", 390)):
            context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
            page = context.new_page()
            try:
                page.goto(f"{base}/staff/")
                assert reference in page.content(), "the demo's own browser gets in"
                pages = {"inbox": None, "request": f"{base}/staff/requests/{reference}"}
                for name, url in pages.items():
                    if url:
                        page.goto(url)
                    failures += _axe(axe_module, page, f"{scheme} {name}")
                page.click("#ss-action-note button[type=submit]")  # an empty note: the error state
                assert "Enter internal note" in page.content()
                failures += _axe(axe_module, page, f"{scheme} request with an error")
                page.goto(f"{base}/staff/?status=lost")
                failures += _axe(axe_module, page, f"{scheme} bad filter")
            finally:
                context.close()
        assert not failures, "\n".join(failures)
        page = browser.new_page()
        try:
            page.goto(f"{base}/staff/")
            page.focus("#f-filter-status")
            assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
        finally:
            page.close()


def _axe(axe_module: Any, page: Any, name: str) -> list[str]:
    results = axe_module.Axe().run(page)
    return [f"{name}: {v['id']} [{v['impact']}] {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
