"""Contact requests and complaints: references, the forms (errors keep what was typed, CSRF,
honeypot, rate limits), suggestions, the status page, the staff API and ISO 10002 complaint
handling, plus a property test that no input to any form gives a 500."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from selfservice import Portal
from selfservice.cli import EXPORTS, main
from selfservice.hooks import hookimpl
from selfservice.mail import MemoryMailer
from selfservice.references import ALPHABET, new_reference, parse
from selfservice.store import Store, tables
from selfservice.store.cases import TransitionError
from tests.test_feedback import count, db_settings, desk_over, env_portal, portal_for, token_in  # noqa: F401

FORM_TYPE = "application/x-www-form-urlencoded"
FORM = {"topic": "billing", "subject": "Charged twice", "message": "My card was charged twice for order 1042.",
        "email": "ada@example.com", "order_ref": "ORD-1042"}


@pytest.fixture
def served(tmp_path: Path, db_settings: dict[str, Any]) -> Iterator[tuple[Portal, TestClient, MemoryMailer]]:
    mailer = MemoryMailer()
    portal = portal_for(tmp_path, db_settings, mailer=mailer, staff_email="desk@larkspur.example",
                        base_url="https://help.larkspur.example")
    with TestClient(portal) as client:
        client.portal.call(portal.desk.store)  # type: ignore[union-attr]
        client.portal.call(portal.desk.worker.stop)  # type: ignore[union-attr]  # the tests run the outbox
        yield portal, client, mailer


def submit(client: TestClient, kind: str = "contact", **changes: str) -> Any:
    page = client.get(f"/{kind}")
    data = {**FORM, "csrf_token": token_in(page.text), "idempotency_key": token_in(page.text, "idempotency_key"),
            **changes}
    return client.post(f"/{kind}", data=data, follow_redirects=False)


def deliver(client: TestClient, portal: Portal) -> int:
    """Run the outbox now (the background worker would, a moment later)."""
    return int(client.portal.call(portal.desk.worker.run_once))  # type: ignore[union-attr]


# -- references -----------------------------------------------------------------------------------


def test_references_are_unambiguous_and_typo_tolerant_to_read_back() -> None:
    ref = new_reference("complaint")
    assert re.fullmatch(rf"C-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", ref)
    assert not set("01OIL25SZ8BUD") & set(ref[2:].replace("-", ""))
    assert parse(ref.lower().replace("-", " ")) == ref and parse(f"  {ref}  ") == ref
    body = ref[2:].replace("-", "")
    typo = ref[:2] + (ALPHABET[(ALPHABET.index(body[0]) + 1) % len(ALPHABET)]) + ref[3:]
    swapped = ref[:2] + body[1] + body[0] + ref[4:]
    assert parse(typo) is None and (body[0] == body[1] or parse(swapped) is None)
    assert parse("") is None and parse("R-XXXX") is None and parse("Z" * 50) is None
    assert new_reference("contact").startswith("R-")


# -- the forms ------------------------------------------------------------------------------------


def test_contact_form_is_accessible_and_protected(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    _, client, _ = served
    page = client.get("/contact")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    html = page.text
    for name in ("topic", "subject", "message", "email", "order_ref"):
        assert f'<label class="ss-field__label" for="f-{name}">' in html and f'id="f-{name}"' in html
    assert 'name="csrf_token"' in html and 'name="idempotency_key"' in html and 'name="website"' in html
    assert 'aria-describedby="f-subject-hint"' in html and "<script" not in html.split("</main>")[0]
    assert re.search(r'<script src="[^"]+suggest\.[0-9a-f]+\.js" defer>', html)


def test_a_request_is_committed_acknowledged_and_shows_its_reference(
    served: tuple[Portal, TestClient, MemoryMailer],
) -> None:
    portal, client, mailer = served
    r = submit(client)
    assert r.status_code == 303 and r.headers["location"].startswith("/requests/received?t=")
    assert count(client, portal, tables.requests) == 1, "committed before the customer is told"
    page = client.get(r.headers["location"])
    reference = re.search(r'ss-reference__value">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]
    assert parse(reference) == reference and reference.startswith("R-")
    assert "We aim to reply by" in page.text
    assert deliver(client, portal) == 2  # the acknowledgement and the staff notice
    to_customer = next(m for m in mailer.sent if m["To"] == "ada@example.com")
    assert reference in to_customer["Subject"] and to_customer["Auto-Submitted"] == "auto-generated"
    text = to_customer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"https://help.larkspur.example/requests/{reference}?key=" in text and "Charged twice" in text
    staff = next(m for m in mailer.sent if m["To"] == "desk@larkspur.example")
    assert staff["Reply-To"] == "ada@example.com"
    record = client.portal.call(portal.requests.get, reference)  # type: ignore[union-attr]
    assert record.status == "acknowledged" and record.acknowledged_at is not None, "acknowledged once the mail went"
    assert record.due_at - record.created_at == timedelta(days=3)


def test_a_double_submit_stores_one_request(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = served
    page = client.get("/complaint")
    data = {**FORM, "csrf_token": token_in(page.text), "idempotency_key": token_in(page.text, "idempotency_key")}
    first = client.post("/complaint", data=data, follow_redirects=False)
    second = client.post("/complaint", data=data, follow_redirects=False)
    assert _reference(client, first) == _reference(client, second)
    assert count(client, portal, tables.requests) == 1
    api = {**FORM, "kind": "complaint"}
    a = client.post("/api/requests", json=api, headers={"idempotency-key": "app-retry-0001"})
    b = client.post("/api/requests", json=api, headers={"idempotency-key": "app-retry-0001"})
    assert (a.status_code, b.status_code) == (201, 200) and a.json()["reference"] == b.json()["reference"]
    assert a.json()["reference"].startswith("C-") and count(client, portal, tables.requests) == 2


def test_mistakes_come_back_as_422_with_everything_typed(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = served
    r = submit(client, "complaint", email="ada at example", subject="", message="Short <b>bold</b>",
               outcome="A refund & an apology")
    assert r.status_code == 422
    html = r.text
    assert 'id="ss-error-summary" role="alert"' in html and 'href="#f-email"' in html and 'href="#f-subject"' in html
    assert 'aria-invalid="true"' in html and 'aria-describedby="f-email-hint f-email-error"' in html
    assert 'value="ada at example"' in html and "Short &lt;b&gt;bold&lt;/b&gt;" in html, "kept, and escaped"
    assert "A refund &amp; an apology" in html and 'value="billing" selected' in html and 'value="ORD-1042"' in html
    assert "<b>bold</b>" not in html
    assert count(client, portal, tables.requests) == 0


def test_csrf_honeypot_and_unknown_topics(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = served
    no_token = client.post("/contact", data=FORM)
    assert no_token.status_code == 403 and "Charged twice" in no_token.text and "expired" in no_token.text
    bot = submit(client, website="http://cheap.example")
    assert bot.status_code == 303 and "t=" not in bot.headers["location"]
    assert submit(client, topic="not-a-topic").status_code == 422
    assert count(client, portal, tables.requests) == 0


def test_requests_are_rate_limited_per_ip_and_per_email(tmp_path: Path) -> None:
    portal = portal_for(tmp_path, {}, rate_limit_email="2/hour", rate_limit_requests="4/hour")
    with TestClient(portal) as client:
        assert submit(client).status_code == 303
        assert submit(client).status_code == 303
        by_email = submit(client, message="A third message from the same address.")
        assert by_email.status_code == 429 and "this email address" in by_email.text
        assert "A third message from the same address." in by_email.text and by_email.headers["retry-after"]
        assert submit(client, email="grace@example.com").status_code == 303
        by_ip = client.post("/api/requests", json={**FORM, "email": "linus@example.com"})
        assert by_ip.status_code == 429 and "Too many attempts" in by_ip.json()["error"]
        assert count(client, portal, tables.requests) == 3


# -- suggestions ----------------------------------------------------------------------------------


def test_suggestions_while_typing_and_without_javascript(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = served
    r = client.get("/api/suggest", params={"q": "reset my password", "form": "contact"})
    suggestions = r.json()["suggestions"]
    assert r.status_code == 200 and suggestions and suggestions[0]["url"].startswith("/suggested/")
    opened = client.get(suggestions[0]["url"], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == suggestions[0]["page_url"]
    assert client.get("/api/suggest", params={"q": "ab"}).json()["suggestions"] == []
    assert client.get("/api/suggest").status_code == 400
    page = client.get("/contact")
    no_js = client.post("/contact", data={"subject": "reset my password", "action": "suggest", "email": "half typed",
                                          "csrf_token": token_in(page.text)})
    assert no_js.status_code == 200 and "These articles may answer your question" in no_js.text
    assert 'value="half typed"' in no_js.text and "There is a problem" not in no_js.text
    rows = client.portal.call(_deflections, portal)  # type: ignore[union-attr]
    assert len(rows) == 2 and rows[0]["clicked_slug"] == suggestions[0]["slug"] and rows[1]["clicked_slug"] is None
    assert count(client, portal, tables.requests) == 0


async def _deflections(portal: Portal) -> list[dict[str, Any]]:
    from selfservice.store.feedback import rows

    return [r async for r in rows(await portal.desk.store(), "deflections")]


# -- status page, replies, staff API ---------------------------------------------------------------


def _reference(client: TestClient, r: Any) -> str:
    page = client.get(r.headers["location"])
    return re.search(r'ss-reference__value">([^<]+)<', page.text).group(1)  # type: ignore[union-attr]


def test_status_lookup_needs_reference_and_email(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = served
    reference = _reference(client, submit(client))
    client.cookies.clear()  # a new browser: no access yet
    assert client.get(f"/requests/{reference}", follow_redirects=False).headers["location"].startswith(
        "/requests/status?reference=")
    form = client.get("/requests/status")
    wrong = client.post("/requests/status", data={"reference": reference, "email": "eve@example.com",
                                                  "csrf_token": token_in(form.text)})
    assert wrong.status_code == 404 and "could not find" in wrong.text and f'value="{reference}"' in wrong.text
    typo = client.post("/requests/status", data={"reference": "R-XXXX-XXXX", "email": "ada@example.com",
                                                 "csrf_token": token_in(form.text)})
    assert typo.status_code == 422 and "Check the reference" in typo.text
    ok = client.post("/requests/status", data={"reference": reference.lower().replace("-", ""),
                                               "email": "ADA@example.com", "csrf_token": token_in(form.text)},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/requests/{reference}"
    page = client.get(ok.headers["location"])
    assert page.status_code == 200 and "Charged twice" in page.text and 'aria-current="step"' in page.text
    assert "We aim to reply by" in page.text


def test_the_link_in_the_email_opens_the_status_page(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, mailer = served
    reference = _reference(client, submit(client))
    deliver(client, portal)
    link = re.search(r"https://help\.larkspur\.example(/requests/\S+)", mailer.sent[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert link
    client.cookies.clear()
    r = client.get(link.group(1), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/requests/{reference}", "the key leaves the URL"
    assert "Charged twice" in client.get(r.headers["location"]).text
    client.cookies.clear()
    forged = client.get(link.group(1).replace("key=", "key=x"), follow_redirects=False)
    assert forged.headers["location"].startswith("/requests/status")


def test_timeline_staff_replies_customer_replies_and_reopening(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, mailer = served
    reference = _reference(client, submit(client, "complaint", outcome="Refund the second charge"))
    call = client.portal.call  # type: ignore[union-attr]
    call(lambda: portal.requests.update_status(reference, "in_progress", reply="We are checking with the bank.",
                                               note="card ending 4242"))
    call(lambda: portal.requests.update_status(reference, "waiting_for_customer", reply="Which card did you use?"))
    page = client.get(f"/requests/{reference}")
    assert "We are checking with the bank." in page.text and "Which card did you use?" in page.text
    assert "card ending 4242" not in page.text, "internal notes stay internal"
    assert "Waiting for your reply" in page.text
    empty = client.post(f"/requests/{reference}/reply", data={"body": " ", "csrf_token": token_in(page.text)})
    assert empty.status_code == 422 and "There is a problem" in empty.text
    sent = client.post(f"/requests/{reference}/reply", data={"body": "The Visa one.", "csrf_token": token_in(page.text)},
                       follow_redirects=False)
    assert sent.status_code == 303
    record = call(portal.requests.get, reference)
    assert record.status == "in_progress" and record.first_response_at is not None
    assert "reply" in [e.kind for e in record.events if e.author == "customer"]
    call(lambda: portal.requests.update_status(reference, "closed", reply="Refunded."))
    closed = client.get(f"/requests/{reference}")
    assert "How satisfied are you with how we handled this?" in closed.text and "Reopen request" in closed.text
    rated = client.post(f"/requests/{reference}/rate", data={"score": "4", "csrf_token": token_in(closed.text)},
                        follow_redirects=False)
    assert rated.status_code == 303 and call(portal.requests.get, reference).satisfaction == 4
    again = client.get(f"/requests/{reference}")
    reopened = client.post(f"/requests/{reference}/reopen", data={"body": "Charged again!",
                                                                   "csrf_token": token_in(again.text)},
                           follow_redirects=False)
    assert reopened.status_code == 303
    record = call(portal.requests.get, reference)
    assert record.status == "in_progress" and record.closed_at is None
    deliver(client, portal)
    subjects = [m["Subject"] for m in mailer.sent if m["To"] == "ada@example.com"]
    assert any("Waiting for your reply" in s for s in subjects) and any("Closed" in s for s in subjects)
    closing = next(m for m in mailer.sent if "Closed" in m["Subject"]).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "How satisfied are you" in closing
    with pytest.raises(TransitionError):
        call(lambda: portal.requests.update_status(reference, "received"))
    with pytest.raises(LookupError):
        call(lambda: portal.requests.update_status("R-XXXX-XXXX", "closed"))


def test_reopening_ends_after_the_window(served: tuple[Portal, TestClient, MemoryMailer]) -> None:
    portal, client, _ = served
    reference = _reference(client, submit(client))
    call = client.portal.call  # type: ignore[union-attr]
    call(lambda: portal.requests.update_status(reference, "resolved", reply="Done."))
    later = datetime.now(UTC) + timedelta(days=15)
    portal.desk.clock = lambda: later
    page = client.get(f"/requests/{reference}")
    assert "Reopen request" not in page.text
    refused = client.post(f"/requests/{reference}/reopen", data={"body": "Still broken", "csrf_token": token_in(page.text)})
    assert refused.status_code == 409 and "can no longer be reopened" in refused.text


# -- ISO 10002: escalation, hooks, webhooks written with the change ----------------------------------


@pytest.mark.anyio
async def test_overdue_complaints_are_escalated_once(store: Store, env_portal: Portal) -> None:
    events: list[tuple[str, Any]] = []

    class Recorder:
        @hookimpl
        def request_created(self, request: dict[str, Any]) -> None:
            events.append(("created", request["reference"]))

        @hookimpl
        def request_status_changed(self, request: dict[str, Any], old_status: str, new_status: str) -> None:
            events.append(("status", (old_status, new_status)))

        @hookimpl
        def request_escalated(self, request: dict[str, Any]) -> None:
            events.append(("escalated", request["reference"]))

    mailer = MemoryMailer()
    async with desk_over(store, env_portal, staff_email="desk@example.com", mailer=mailer, plugins=[Recorder()],
                         webhook_url="http://127.0.0.1:9/hook", webhook_secret="w" * 32) as desk:
        late = (await desk.requests.create("complaint", topic="order", subject="Broken lamp", message="It arrived broken.",
                                           email="ada@example.com")).reference
        fine = (await desk.requests.create("contact", topic="order", subject="Question", message="Do you ship to Mars?",
                                           email="bob@example.com")).reference
        await desk.requests.update_status(fine, "resolved", reply="Not yet.")
        assert await desk.requests.escalate_overdue(datetime.now(UTC) + timedelta(days=5)) == []
        in_eleven_days = datetime.now(UTC) + timedelta(days=11)
        assert await desk.requests.escalate_overdue(in_eleven_days) == [late]
        assert await desk.requests.escalate_overdue(in_eleven_days) == [], "once"
        record = await desk.requests.get(late, internal=False)
        assert record is not None and record.escalated_at == in_eleven_days
        assert any(e.kind == "escalation" and "senior member" in e.body for e in record.events)
        async with store.read() as conn:
            outbox = [(r.kind, r.payload.get("event"), r.payload.get("subject", ""))
                      for r in (await conn.execute(tables.outbox.select().order_by(tables.outbox.c.id))).all()]
    assert events == [("created", late), ("created", fine), ("status", ("received", "resolved")), ("escalated", late)]
    webhooks = [event for kind, event, _ in outbox if kind == "webhook"]
    assert webhooks == ["request.created", "request.created", "request.status_changed", "request.escalated"]
    assert any("ESCALATED" in subject for kind, _, subject in outbox if kind == "mail")


@pytest.mark.anyio
async def test_staff_api_counts_and_notes(store: Store, env_portal: Portal) -> None:
    async with desk_over(store, env_portal, mailer=MemoryMailer()) as desk:
        ref = (await desk.requests.create("contact", topic="other", subject="Hello there", message="Just saying hello.",
                                          email="ada@example.com", order_ref="A-1")).reference
        await desk.requests.add_note(ref, "called them back", actor="grace")
        staff_view = await desk.requests.get(ref)
        customer_view = await desk.requests.get(ref, internal=False)
        assert staff_view is not None and customer_view is not None
        assert [e.body for e in staff_view.events if e.internal] == ["grace: called them back"]
        assert not any(e.internal for e in customer_view.events)
        assert await desk.requests.counts() == {"received": 1}
        assert await desk.requests.get(ref, email="eve@example.com") is None
        with pytest.raises(ValueError, match="topic"):
            await desk.requests.create("contact", topic="nope", subject="x", message="y", email="a@b.de")


def test_export_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    portal = portal_for(tmp_path, {}, mailer=MemoryMailer())
    with TestClient(portal) as client:
        submit(client)
    assert main(["export", "requests", "--format", "json", "--data-dir", str(tmp_path)]) == 0
    assert '"subject": "Charged twice"' in capsys.readouterr().out
    from selfservice.store.feedback import EXPORTS as STORE_EXPORTS

    assert set(EXPORTS) == set(STORE_EXPORTS), "the CLI's list matches the store's"


def test_db_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    assert main(["db", "status", "--database-url", url]) == 1
    assert "run `selfservice db upgrade`" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "upgraded from empty" in capsys.readouterr().err
    assert main(["db", "status", "--database-url", url]) == 0
    with pytest.raises(SystemExit) as info:
        main(["db", "upgrade", "--database-url", "mysql://x/y"])
    assert info.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_a_database_that_is_behind_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    import asyncio

    from selfservice.errors import SchemaBehindError
    from selfservice.store import Store as StoreClass

    db = tmp_path / "old.sqlite3"

    async def make_old() -> None:  # an existing database at an older schema
        from alembic import command

        from selfservice.store.schema import alembic_config

        async with StoreClass(f"sqlite:///{db}") as s, s.write() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))

    asyncio.run(make_old())
    portal = portal_for(tmp_path, {"database_url": f"sqlite:///{db}"})
    with pytest.raises(SchemaBehindError, match="run `selfservice db upgrade`"):
        with TestClient(portal):
            pass  # pragma: no cover


# -- no input gives a 500 -------------------------------------------------------------------------

_FIELDS = ["topic", "subject", "message", "email", "order_ref", "outcome", "reference", "body", "score", "comment",
           "reason", "page", "helpful", "t", "action", "website", "idempotency_key", "csrf_token", "kind", "token"]
_VALUES = st.one_of(st.text(max_size=300), st.sampled_from(["", "billing", "yes", "no", "5", "-1", "R-FJHV-7PVJ",
                                                            "a@b.de", "article:reset-your-password", "suggest",
                                                            "\x00", "\ud800", "0" * 7000]))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Portal, TestClient]]:
    data = tmp_path_factory.mktemp("fuzz")
    portal = portal_for(data, {}, mailer=MemoryMailer(), rate_limit_feedback=None, rate_limit_requests=None,
                        rate_limit_email=None, rate_limit_lookup=None)
    with TestClient(portal, raise_server_exceptions=False) as client:
        yield portal, client


def _endpoints(client: TestClient) -> list[str]:
    ref = client.post("/api/requests", json=FORM).json()["reference"]
    return ["/feedback/vote", "/feedback/details", "/survey/csat", "/survey/nps", "/contact", "/complaint",
            "/requests/status", f"/requests/{ref}/reply", f"/requests/{ref}/reopen", f"/requests/{ref}/rate",
            "/api/feedback", "/api/surveys/csat", "/api/requests"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(fields=st.dictionaries(st.one_of(st.sampled_from(_FIELDS), st.text(max_size=20)), _VALUES, max_size=12),
       as_json=st.booleans(), with_token=st.booleans())
def test_no_form_input_gives_a_server_error(fuzzed: tuple[Portal, TestClient], fields: dict[str, str],
                                            as_json: bool, with_token: bool) -> None:
    portal, client = fuzzed
    endpoints = getattr(fuzzed, "endpoints", None) or _endpoints(client)
    for path in endpoints:
        data = dict(fields)
        if with_token and not as_json:
            data["csrf_token"] = token_in(client.get("/contact").text)
        # Encoded by hand: lone surrogates go out as JSON escapes / invalid UTF-8, as an attacker would.
        if as_json:
            body, ctype = json.dumps(data).encode(), "application/json"
        else:
            body, ctype = urlencode(data, encoding="utf-8", errors="surrogatepass").encode(), FORM_TYPE
        r = client.post(path, content=body, headers={"origin": "http://testserver", "content-type": ctype})
        assert r.status_code < 500, (path, data, r.text[:500])


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=st.binary(max_size=400), ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                           "multipart/form-data; boundary=x", "multipart/form-data",
                                                           "text/plain", ""]))
def test_no_raw_body_gives_a_server_error(fuzzed: tuple[Portal, TestClient], body: bytes, ctype: str) -> None:
    _, client = fuzzed
    for path in ("/contact", "/api/feedback", "/api/requests", "/feedback/vote", "/survey/nps"):
        r = client.post(path, content=body, headers={"content-type": ctype, "origin": "http://testserver"})
        assert r.status_code < 500, (path, body, r.text[:300])
