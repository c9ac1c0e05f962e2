"""Email to customers and staff: the ``Mailer`` protocol, SMTP and file mailers, templates.

Mail is never sent from a request. The view writes the message into the outbox in the same
transaction as the request it announces (:mod:`selfservice.store.outbox`), and the outbox
worker hands it to the mailer, retrying with backoff when the server is down. So a customer
is told "received" only once both are committed, and a broken mail server delays the email
but never loses the request.

Mailers (``Settings.mailer`` wins, then ``smtp_host``, else :class:`FileMailer`)::

    class Mailer(Protocol):
        async def send(self, message: EmailMessage) -> None: ...

* :class:`SMTPMailer` — aiosmtplib: ``smtp_tls`` ``"starttls"`` (port 587, the default),
  ``"tls"`` (implicit TLS, port 465) or ``"none"`` (a local relay); login with
  ``smtp_username``/``smtp_password``; certificates are verified.
* :class:`FileMailer` — writes each message as an ``.eml`` file into ``<data_dir>/mail``:
  the demo and local development, where no mail server exists. Open the files in any mail
  program.
* :class:`MemoryMailer` — keeps messages in a list, for a host's own tests.

Templates: ``mail/<name>.txt`` (required; its first line is ``Subject: ...``) and
``mail/<name>.html`` (optional), looked up like page templates, so a host overrides them in
its template folder. The text part is rendered without HTML escaping, the HTML part with it.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import time
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import jinja2

from .errors import SelfServiceError, TemplateError
from .settings import Settings

__all__ = [
    "FileMailer",
    "MailError",
    "Mailer",
    "MemoryMailer",
    "SMTPMailer",
    "build_message",
    "default_mailer",
    "render_mail",
]


class MailError(SelfServiceError):
    """A message could not be handed to the mail server.

    ``permanent`` is True when retrying cannot help (the server refused the address); the
    outbox then stops trying. Otherwise it retries with backoff.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


@runtime_checkable
class Mailer(Protocol):
    """Anything that can deliver an ``EmailMessage``; raise :class:`MailError` on failure."""

    async def send(self, message: EmailMessage) -> None: ...


class SMTPMailer:
    """Send through an SMTP server with aiosmtplib (one connection per message)."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: str = "starttls",
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if tls not in ("starttls", "tls", "none"):
            raise ValueError(f"tls must be 'starttls', 'tls' or 'none', not {tls!r}")
        self.host, self.port, self.tls, self.timeout = host, port, tls, timeout
        self.username, self.password = username, password
        self.tls_context = tls_context

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPMailer:
        assert settings.smtp_host is not None
        return cls(settings.smtp_host, settings.smtp_port, username=settings.smtp_username,
                   password=settings.smtp_password, tls=settings.smtp_tls, timeout=settings.smtp_timeout)

    def __repr__(self) -> str:
        return f"<SMTPMailer {self.host}:{self.port} tls={self.tls}>"

    async def send(self, message: EmailMessage) -> None:
        import aiosmtplib

        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.tls == "tls",
            start_tls=True if self.tls == "starttls" else False,
            tls_context=self.tls_context,
            timeout=self.timeout,
        )
        try:
            async with client:
                await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MailError(f"{self}: the server refused the address: {exc}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(f"{self}: {exc.code} {exc.message}", permanent=500 <= exc.code < 600 and exc.code != 530) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(f"{self}: {type(exc).__name__}: {exc}; check Settings.smtp_host and smtp_port") from exc
        finally:
            client.close()  # also after a failed STARTTLS, which leaves the socket open


class FileMailer:
    """Write each message as an ``.eml`` file into ``folder`` (created when needed)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"<FileMailer {self.folder}>"

    async def send(self, message: EmailMessage) -> None:
        import asyncio

        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S")
            fd, tmp = tempfile.mkstemp(prefix=f"{stamp}-", suffix=".eml.tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as out:
                out.write(message.as_bytes())
            os.replace(tmp, tmp[: -len(".tmp")])  # appears whole or not at all
        except OSError as exc:
            raise MailError(f"{self}: cannot write the message: {exc}") from exc


class MemoryMailer:
    """Keep messages in ``sent``: for tests."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


def default_mailer(settings: Settings) -> Mailer:
    """``Settings.mailer``, else SMTP when ``smtp_host`` is set, else files in the data folder."""
    if settings.mailer is not None:
        return settings.mailer
    if settings.smtp_host:
        return SMTPMailer.from_settings(settings)
    return FileMailer(Path(settings.data_dir) / "mail")


# -- composing --------------------------------------------------------------------------------


def render_mail(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> dict[str, str | None]:
    """Render ``mail/<name>.txt`` (and ``.html`` if present) into ``subject``, ``text``, ``html``."""
    text_env = _text_environment(env)
    try:
        text = text_env.get_template(f"mail/{name}.txt").render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"mail template mail/{name}.txt is missing: {exc}") from exc
    first, _, body = text.lstrip().partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateError(f"mail/{name}.txt must start with a 'Subject: ...' line")
    subject = " ".join(first[len("subject:") :].split())  # one line: no header injection
    try:
        html: str | None = env.get_template(f"mail/{name}.html").render(subject=subject, **context)
    except jinja2.TemplateNotFound:
        html = None
    return {"subject": subject, "text": body.strip() + "\n", "html": html}


def _text_environment(env: jinja2.Environment) -> jinja2.Environment:
    cached = getattr(env, "_selfservice_text_env", None)
    if cached is None:
        # Same loader, filters and globals; no HTML escaping in plain text.
        cached = env.overlay(autoescape=False)
        env._selfservice_text_env = cached  # type: ignore[attr-defined]
    return cached


def build_message(payload: Mapping[str, Any], mail_from: str) -> EmailMessage:
    """The ``EmailMessage`` for an outbox payload (``to``, ``subject``, ``text``, ``html``,
    ``message_id``, optional ``reply_to`` and ``auto``)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = str(payload["to"])
    message["Subject"] = " ".join(str(payload["subject"]).split())
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = str(payload.get("message_id") or make_msgid(domain="selfservice.invalid"))
    if payload.get("reply_to"):
        message["Reply-To"] = str(payload["reply_to"])
    if payload.get("auto", True):
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay quiet
    message.set_content(str(payload["text"]))
    if payload.get("html"):
        message.add_alternative(str(payload["html"]), subtype="html")
    return message
