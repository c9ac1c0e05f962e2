"""Mail and webhooks: the SMTP mailer against a real aiosmtpd server on localhost (plain, login,
STARTTLS), the file mailer, templates, and the outbox delivering both with retries — a request
is never lost when the mail server or the webhook receiver is down."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from aiosmtpd.smtp import SMTP as SMTPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from selfservice import Portal
from selfservice.hooks import verify_signature
from selfservice.mail import FileMailer, MailError, SMTPMailer, build_message, render_mail
from selfservice.store import Store, tables
from selfservice.store.outbox import LEASE, backoff, dead_letters, enqueue
from tests.live import listening_socket, serving
from tests.test_feedback import db_settings, desk_over, env_portal, portal_for  # noqa: F401
from tests.test_requests import FORM, submit

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:aiosmtpd")


# -- a real SMTP server on localhost ---------------------------------------------------------------


class Inbox:
    """aiosmtpd handler keeping what it received; ``refuse`` makes RCPT answer 550."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []
        self.refuse: str | None = None
        self.received = threading.Event()

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse and address == self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        self.received.set()
        return "250 Message accepted for delivery"


def _authenticator(server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"portal" and data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the STARTTLS test makes its certificate with the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _message(to: str = "ada@example.com") -> EmailMessage:
    return build_message({"to": to, "subject": "Hello\r\nBcc: evil@example.com", "text": "Hi ✓", "html": "<p>Hi ✓</p>",
                          "message_id": "<fixed@larkspur.example>"}, "Larkspur Help <help@larkspur.example>")


def test_smtp_mailer_sends_with_login(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mailer = SMTPMailer("127.0.0.1", port, username="portal", password="s3cret", tls="none")
    asyncio.run(mailer.send(_message()))
    assert len(inbox.messages) == 1
    got = inbox.messages[0]
    assert got.rcpt_tos == ["ada@example.com"] and got.mail_from == "help@larkspur.example"
    raw = got.content.decode() if isinstance(got.content, bytes) else str(got.content)
    assert "Subject: Hello Bcc: evil@example.com" in raw, "no header injection: one line"
    assert "Message-ID: <fixed@larkspur.example>" in raw and "multipart/alternative" in raw


def test_smtp_mailer_failures_say_what_to_do(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with pytest.raises(MailError) as wrong_password:
        asyncio.run(SMTPMailer("127.0.0.1", port, username="portal", password="nope", tls="none").send(_message()))
    assert not wrong_password.value.permanent or "535" in str(wrong_password.value)
    inbox.refuse = "ghost@example.com"
    with pytest.raises(MailError) as refused:
        asyncio.run(SMTPMailer("127.0.0.1", port, tls="none").send(_message("ghost@example.com")))
    assert refused.value.permanent, "retrying a refused address cannot help"
    with pytest.raises(MailError) as down:
        asyncio.run(SMTPMailer("127.0.0.1", _free_port(), tls="none", timeout=5).send(_message()))
    assert not down.value.permanent and "smtp_host" in str(down.value)


def test_smtp_mailer_starttls_verifies_the_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_tls,
                            require_starttls=True, authenticator=_authenticator, auth_require_tls=True)
    controller.start()
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        mailer = SMTPMailer("127.0.0.1", controller.port, username="portal", password="s3cret", tls="starttls",
                            tls_context=trusted)
        asyncio.run(mailer.send(_message()))
        assert len(inbox.messages) == 1
        with pytest.raises(MailError):  # the system's CAs do not know this certificate
            asyncio.run(SMTPMailer("127.0.0.1", controller.port, tls="starttls", timeout=5).send(_message()))
    finally:
        controller.stop()


def test_file_mailer_writes_whole_eml_files(tmp_path: Path) -> None:
    asyncio.run(FileMailer(tmp_path / "mail").send(_message()))
    files = list((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 1 and b"Hi" in files[0].read_bytes() and not list((tmp_path / "mail").glob("*.tmp"))


def test_templates_escape_html_but_not_text(env_portal: Portal) -> None:
    context = {"site": {"name": "A & B", "locale": "en"}, "request": _FakeRequest(), "topic_label": "Billing",
               "status_link": None, "target_days": 3}
    mail = render_mail(env_portal.ss.env, "request_received", context)
    assert mail["subject"] == "[R-FJHV-7PVJ] We have received your message: <script>"
    assert "Thank you for writing to A & B" in str(mail["text"]) and "<script>" in str(mail["text"])
    assert "&lt;script&gt;" in str(mail["html"]) and "<script>" not in str(mail["html"])


class _FakeRequest:
    reference, kind, subject, message, due_at = "R-FJHV-7PVJ", "contact", "<script>", "x", None


# -- the outbox: retries, dead letters, the worker ----------------------------------------------------


class FlakyMailer:
    """Fails ``failures`` times, then delivers; ``delivered`` is set on each delivery."""

    def __init__(self, failures: int, permanent: bool = False) -> None:
        self.failures, self.permanent = failures, permanent
        self.sent: list[EmailMessage] = []
        self.delivered = asyncio.Event()

    async def send(self, message: EmailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise MailError("421 try again later", permanent=self.permanent)
        self.sent.append(message)
        self.delivered.set()


@pytest.mark.anyio
async def test_a_failed_send_is_retried_with_backoff_and_nothing_is_lost(store: Store, env_portal: Portal) -> None:
    mailer = FlakyMailer(failures=2)
    async with desk_over(store, env_portal, mailer=mailer) as desk:  # the test drives the outbox
        ref = (await desk.requests.create("contact", topic="other", subject="Hello", message="The mail server is down.",
                                          email="ada@example.com")).reference
        record = await desk.requests.get(ref)
        assert record is not None and record.status == "received", "stored although no mail went out"
        now = desk.clock()
        assert await desk.worker.run_once(now) == 0
        async with store.read() as conn:
            row = (await conn.execute(tables.outbox.select())).one()
        assert row.attempts == 1 and row.sent_at is None and "421" in row.last_error
        assert backoff(1, jitter=False) * 0.8 <= row.next_attempt_at - now <= backoff(1, jitter=False) * 1.2
        assert await desk.worker.run_once(now) == 0, "not due yet"
        assert await desk.worker.run_once(now + timedelta(minutes=1)) == 0  # second failure
        assert await desk.worker.run_once(now + timedelta(minutes=10)) == 1
        record = await desk.requests.get(ref)
        assert record is not None and record.status == "acknowledged" and len(mailer.sent) == 1


@pytest.mark.anyio
async def test_permanent_failures_and_exhausted_retries_become_dead_letters(store: Store, env_portal: Portal) -> None:
    async with desk_over(store, env_portal, mailer=FlakyMailer(failures=1, permanent=True), outbox_max_attempts=3) as desk:
        async with store.write() as conn:
            await enqueue(conn, "mail", {"to": "x@example.com", "subject": "s", "text": "t"})
        assert await desk.worker.run_once(desk.clock()) == 0
        dead = await dead_letters(store, 3)
        assert len(dead) == 1 and dead[0]["attempts"] == 3
        assert await desk.worker.run_once(desk.clock() + LEASE * 1000) == 0, "never tried again"


@pytest.mark.anyio
async def test_the_background_worker_delivers_when_woken(store: Store, env_portal: Portal) -> None:
    mailer = FlakyMailer(failures=0)
    async with desk_over(store, env_portal, mailer=mailer, worker=True) as desk:
        await desk.requests.create("complaint", topic="other", subject="Late", message="Where is my parcel?",
                                   email="ada@example.com")
        await asyncio.wait_for(mailer.delivered.wait(), timeout=10)  # woken by the commit, not by a poll
        assert "We have received your complaint" in str(mailer.sent[0]["Subject"])


@pytest.mark.anyio
async def test_stop_right_after_a_wake_stops_the_worker(store: Store, env_portal: Portal) -> None:
    """A wake and a stop in the same loop step: the worker's wait has just ended when the
    cancel arrives. (asyncio.wait_for on Python 3.11 swallowed that cancel, the worker went
    on, and the portal's shutdown waited for it forever: a rare hang of the test suite.)"""
    async with desk_over(store, env_portal, mailer=FlakyMailer(failures=0), worker=True) as desk:
        worker = desk.worker
        for _ in range(20):
            await asyncio.wait_for(worker.idle.wait(), timeout=10)  # parked in its wait
            task = worker._task
            assert task is not None
            worker.wake()
            task.cancel()
            await asyncio.wait({task}, timeout=5)  # a lost cancel leaves it running
            assert task.cancelled()
            await worker.stop()
            worker.start()
        await asyncio.wait_for(worker.idle.wait(), timeout=10)  # parked again: no database call in flight at the end


def test_request_survives_the_smtp_server_being_down_then_is_mailed(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    portal = portal_for(tmp_path, {}, smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_tls="none", smtp_timeout=2)
    with TestClient(portal) as client:
        r = submit(client)
        assert r.status_code == 303, "the customer is answered although mail is down"
        client.portal.call(portal.desk.worker.stop)  # type: ignore[union-attr]
        now = portal.desk.clock()
        assert client.portal.call(portal.desk.worker.run_once, now) == 0  # type: ignore[union-attr]
        portal.desk.mailer = SMTPMailer("127.0.0.1", port, tls="none")  # the server is back
        assert client.portal.call(portal.desk.worker.run_once, now + timedelta(hours=7)) == 1  # type: ignore[union-attr]
    assert inbox.messages and inbox.messages[0].rcpt_tos == [FORM["email"]]


# -- webhooks -------------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint served by uvicorn on localhost: answers ``statuses`` in turn, then 204."""

    def __init__(self, secret: str, statuses: list[int]) -> None:
        self.secret, self.statuses = secret, list(statuses)
        self.deliveries: list[tuple[dict[str, str], bytes, bool]] = []

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        self.deliveries.append((dict(request.headers), body, verify_signature(self.secret, request.headers, body)))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


def test_webhooks_are_signed_delivered_and_retried(tmp_path: Path) -> None:
    secret = "webhook-secret-0123456789"
    receiver = Receiver(secret, statuses=[503])
    sock = listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    with serving(receiver.app(), [sock]):
        portal = portal_for(tmp_path, {}, webhook_url=url, webhook_secret=secret, mailer=FlakyMailer(0))
        with TestClient(portal) as client:
            client.portal.call(portal.desk.store)  # type: ignore[union-attr]
            client.portal.call(portal.desk.worker.stop)  # type: ignore[union-attr]
            submit(client)
            now = portal.desk.clock()
            client.portal.call(portal.desk.worker.run_once, now)  # type: ignore[union-attr]
            assert len(receiver.deliveries) == 1, "the first attempt got a 503"
            client.portal.call(portal.desk.worker.run_once, now + timedelta(hours=7))  # type: ignore[union-attr]
    # The retry of request.created and request.status_changed (acknowledged), in either order.
    assert len(receiver.deliveries) == 3
    assert all(ok for _, _, ok in receiver.deliveries), "every delivery carries a valid signature"
    events = {json.loads(body)["event"]: (headers, json.loads(body)) for headers, body, _ in receiver.deliveries[1:]}
    first_headers, first_body, _ = receiver.deliveries[0]
    retried_headers, created = events["request.created"]
    assert first_headers["x-selfservice-delivery"] == retried_headers["x-selfservice-delivery"], "a retry is the same event"
    assert created["data"]["subject"] == FORM["subject"] and created["data"]["status"] == "received"
    assert events["request.status_changed"][1]["data"]["new_status"] == "acknowledged"
    assert not verify_signature("another-secret-0123456789", first_headers, first_body)
    assert not verify_signature(secret, first_headers, first_body + b" ")
