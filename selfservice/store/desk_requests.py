"""Contact requests and complaints as a Python API: what the views call, and the staff API.

Staff use the inbox under ``/staff`` (:mod:`selfservice.views.inbox`); a script or a
ticketing integration works through ``portal.requests``::

    record = await portal.requests.get("C-7K4M-X9TH")
    await portal.requests.update_status("C-7K4M-X9TH", "in_progress", reply="We are looking into it.")
    await portal.requests.update_status("C-7K4M-X9TH", "resolved", reply="Refunded.", note="ticket #123")
    await portal.requests.assign("C-7K4M-X9TH", "grace", actor="grace")
    await portal.requests.escalate_overdue()       # the outbox worker also runs it every 5 minutes

Staff changes (status, reply, note, assignee) are written to ``audit_log`` with ``actor`` in
the same transaction (:func:`.inbox.audit`).

Every method commits before it returns; mail to the customer and staff, webhooks and hooks
follow from the outbox and after the commit (see :mod:`.cases` for the timeline rules).
Unknown references raise ``LookupError``; changes the status does not allow raise
:class:`~.cases.TransitionError` (a ``ValueError``) with a message to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..i18n import N_
from ..references import KINDS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from .cases import RequestRecord
    from .desk import Desk, Effect
    from .inbox import InboxFilter, InboxPage

__all__ = ["Created", "Requests"]


@dataclass(frozen=True)
class Created:
    """A submitted request: ``created`` is False when it repeated an earlier submit."""

    reference: str
    created: bool


class Requests:
    """Contact requests and complaints of one portal (``portal.requests``)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def target_days(self, kind: str) -> int:
        s = self.desk.settings
        return s.complaint_target_days if kind == "complaint" else s.contact_target_days

    def status_link(self, reference: str, email: str) -> str | None:
        """The status page link for emails (it carries a signed access key), when the portal's URL is known."""
        root = self.desk.link_root()
        if root is None:
            return None
        return f"{root}{self.desk.path('request_status', reference=reference)}?key={self.desk.access_key(reference, email)}"

    # -- customers ------------------------------------------------------------------------

    async def create(
        self, kind: str, *, topic: str, subject: str, message: str, email: str, order_ref: str | None = None,
        locale: str | None = None, idempotency_key: str | None = None, session_hash: str | None = None,
    ) -> Created:
        """Store a request, queue its acknowledgement (and the staff notice), return its reference."""
        from . import cases
        from .idempotency import claim_key, settle_key

        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if topic not in self.desk.settings.request_topics:
            raise ValueError(f"unknown topic {topic!r}; Settings.request_topics has {', '.join(self.desk.settings.request_topics)}")
        desk = self.desk
        scoped = f"request-{kind}:{idempotency_key}" if idempotency_key else None  # one key, one form

        async def work(conn: AsyncConnection) -> tuple[str, bool, list[Effect]]:
            if scoped:
                earlier = await claim_key(conn, scoped, f"request-{kind}")
                if earlier is not None:
                    return earlier.ref, False, []
            record = await cases.create(
                conn, kind=kind, topic=topic, subject=subject, message=message, email=email, order_ref=order_ref,
                locale=locale or desk.settings.locale, target_days=self.target_days(kind), now=desk.clock(),
                session_hash=session_hash,
            )
            await desk.mail(conn, "request_received", email, self._mail_context(record, record.locale),
                            acknowledges=record.reference)
            if desk.settings.staff_email:
                await desk.mail(conn, "staff_request", desk.settings.staff_email, self._mail_context(record), reply_to=email)
            effects = [await desk.emit(conn, "request_created", request=record.public())]
            if scoped:
                await settle_key(conn, scoped, record.reference)
            return record.reference, True, effects

        reference, created, effects = await desk.write(work)
        desk.fire(effects)
        return Created(reference, created)

    async def get(self, reference: str, *, email: str | None = None, internal: bool = True) -> RequestRecord | None:
        """The request and its timeline; ``email`` must match when given; ``internal=False``
        leaves out staff notes (what the customer sees)."""
        from . import cases

        store = await self.desk.store()
        async with store.read() as conn:
            return await cases.fetch(conn, reference, email=email, internal=internal)

    async def customer_reply(self, reference: str, email: str, body: str) -> RequestRecord:
        """The customer adds a message; a request waiting for them goes back to "in progress"."""

        async def change(conn: AsyncConnection, record: RequestRecord, effects: list[Effect]) -> None:
            from . import cases

            if not record.is_open:
                raise cases.TransitionError(N_("This request is closed. Reopen it to send a new message."))
            await cases.add_event(conn, record.id, "reply", "customer", body=body, now=self.desk.clock())
            if record.status == "waiting_for_customer":
                await self._move(conn, record, "in_progress", "customer", effects)
            await self._tell_staff(conn, record, "customer_reply", body)

        return await self._change(reference, email, change)

    async def reopen(self, reference: str, email: str, body: str) -> RequestRecord:
        """The customer reopens a resolved or closed request within ``Settings.reopen_days``."""

        async def change(conn: AsyncConnection, record: RequestRecord, effects: list[Effect]) -> None:
            from . import cases

            until = record.reopen_until(self.desk.settings.reopen_days)
            if until is None or self.desk.clock() > until:
                raise cases.TransitionError(N_("This request can no longer be reopened. Please send us a new request."))
            await self._move(conn, record, "in_progress", "customer", effects, body=body,
                             target_days=self.target_days(record.kind))
            await self._tell_staff(conn, record, "reopened", body)

        return await self._change(reference, email, change)

    async def rate(self, reference: str, email: str, score: int, comment: str | None = None) -> RequestRecord:
        """How satisfied the customer is (1–5) with how a resolved or closed request was handled."""

        async def change(conn: AsyncConnection, record: RequestRecord, effects: list[Effect]) -> None:
            from sqlalchemy import update

            from . import cases
            from .tables import requests

            if record.is_open:
                raise cases.TransitionError(N_("You can rate the handling once the request is resolved."))
            if not 1 <= score <= 5:
                raise cases.TransitionError(N_("Choose a score from 1 to 5."))
            await conn.execute(update(requests).where(requests.c.id == record.id).values(satisfaction=score))
            await cases.add_event(conn, record.id, "satisfaction", "customer", body=comment or "", now=self.desk.clock())
            record.satisfaction = score
            effects.append(await self.desk.emit(conn, "feedback_created", feedback={
                "type": "satisfaction", "reference": record.reference, "kind": record.kind, "score": score,
                "comment": comment}))

        return await self._change(reference, email, change)

    # -- staff ----------------------------------------------------------------------------

    async def update_status(
        self, reference: str, status: str, *, reply: str | None = None, note: str | None = None, actor: str = "staff",
    ) -> RequestRecord:
        """Move a request to ``status``; ``reply`` is shown to (and emailed to) the customer,
        ``note`` is internal. The same status with a reply just adds the reply."""

        async def change(conn: AsyncConnection, record: RequestRecord, effects: list[Effect]) -> None:
            from sqlalchemy import update

            from . import cases
            from .tables import requests

            from .inbox import audit

            if status not in cases.STATUSES:
                raise cases.TransitionError(f"unknown status {status!r}; use one of {', '.join(cases.STATUSES)}")
            if status == "received" and record.status != "received":
                raise cases.TransitionError("a request cannot go back to 'received'")
            now = self.desk.clock()
            before = record.status
            if reply:
                await cases.add_event(conn, record.id, "reply", "staff", body=reply, now=now)
                if record.first_response_at is None:
                    await conn.execute(update(requests).where(requests.c.id == record.id).values(first_response_at=now))
                    record.first_response_at = now
            changed = status != record.status
            if changed:
                reopening = status in cases.OPEN_STATUSES and not record.is_open
                await self._move(conn, record, status, "staff", effects,
                                 target_days=self.target_days(record.kind) if reopening else None)
            if note:
                await cases.add_event(conn, record.id, "note", "staff", body=f"{actor}: {note}", internal=True, now=now)
            if reply or (changed and status in ("waiting_for_customer", "resolved", "closed")):
                context = {**self._mail_context(record, record.locale), "reply": reply or "",
                           "ask_satisfaction": status in ("resolved", "closed") and record.satisfaction is None}
                await self.desk.mail(conn, "request_update", record.email, context)
            await audit(conn, actor=actor, action="request.status" if changed else "request.reply", target=reference,
                        outcome="ok", now=now, details={"from": before, "to": status, "reply_chars": len(reply or ""),
                                                        "note": bool(note)})

        return await self._change(reference, None, change)

    async def add_note(self, reference: str, note: str, *, actor: str = "staff") -> RequestRecord:
        """An internal note: on the timeline for staff, never shown to the customer."""

        async def change(conn: AsyncConnection, record: RequestRecord, effects: list[Effect]) -> None:
            from . import cases

            from .inbox import audit

            now = self.desk.clock()
            await cases.add_event(conn, record.id, "note", "staff", body=f"{actor}: {note}", internal=True, now=now)
            await audit(conn, actor=actor, action="request.note", target=reference, outcome="ok", now=now,
                        details={"chars": len(note)})

        return await self._change(reference, None, change)

    async def assign(self, reference: str, assignee: str | None, *, actor: str = "staff") -> RequestRecord:
        """Give the request to ``assignee`` (a staff name, at most 120 characters), or to
        nobody with ``None``; an internal timeline entry says who changed it."""
        name = " ".join((assignee or "").split())[:120] or None

        async def change(conn: AsyncConnection, record: RequestRecord, effects: list[Effect]) -> None:
            from sqlalchemy import select, update

            from . import cases
            from .inbox import audit
            from .tables import requests

            now = self.desk.clock()
            before = (await conn.execute(select(requests.c.assignee).where(requests.c.id == record.id))).scalar_one()
            if before == name:
                raise cases.TransitionError(f"The request is already assigned to {name}." if name
                                            else "The request is not assigned to anyone.")
            await conn.execute(update(requests).where(requests.c.id == record.id).values(assignee=name))
            body = f"{actor}: assigned to {name}" if name else f"{actor}: unassigned (was {before})"
            await cases.add_event(conn, record.id, "assignment", "staff", body=body, internal=True, now=now)
            await audit(conn, actor=actor, action="request.assign", target=reference, outcome="ok", now=now,
                        details={"from": before, "to": name})

        return await self._change(reference, None, change)

    async def inbox(self, view: InboxFilter) -> InboxPage:
        """One page of the staff inbox (:mod:`.inbox`)."""
        from .inbox import inbox

        store = await self.desk.store()
        async with store.read() as conn:
            return await inbox(conn, view, self.desk.clock())

    async def assignees(self) -> list[str]:
        """The names requests are assigned to now."""
        from .inbox import assignees

        store = await self.desk.store()
        async with store.read() as conn:
            return await assignees(conn)

    async def audit_refused(self, reference: str, action: str, outcome: str, reason: str, *, actor: str) -> None:
        """Log a staff action that did not happen (its own transaction rolled back)."""
        from .inbox import audit

        async def work(conn: AsyncConnection) -> None:
            await audit(conn, actor=actor, action=action, target=reference, outcome=outcome, now=self.desk.clock(),
                        details={"reason": reason[:200]})

        await self.desk.write(work)

    async def escalate_overdue(self, now: datetime | None = None) -> list[str]:
        """Escalate every open request past its response date (once each); returns their references."""
        from sqlalchemy import update

        from . import cases
        from .tables import requests

        desk = self.desk

        async def work(conn: AsyncConnection) -> tuple[list[str], list[Effect]]:
            when = now or desk.clock()
            refs = await cases.overdue(conn, when)
            effects: list[Effect] = []
            for ref in refs:
                record = await cases.fetch(conn, ref)
                assert record is not None
                await conn.execute(update(requests).where(requests.c.id == record.id).values(escalated_at=when))
                record.escalated_at = when
                body = ("We have not answered within the time we promised, so your "
                        f"{'complaint' if record.kind == 'complaint' else 'request'} now goes to a senior member of our team.")
                await cases.add_event(conn, record.id, "escalation", "system", body=body, now=when)
                if desk.settings.staff_email:
                    await desk.mail(conn, "staff_escalated", desk.settings.staff_email, self._mail_context(record))
                effects.append(await desk.emit(conn, "request_escalated", request=record.public()))
            return refs, effects

        refs, effects = await desk.write(work)
        desk.fire(effects)
        return refs

    async def counts(self) -> dict[str, int]:
        """Requests per status."""
        from . import cases

        store = await self.desk.store()
        async with store.read() as conn:
            return dict(await cases.counts(conn))

    # -- internals ------------------------------------------------------------------------

    async def acknowledged(self, conn: AsyncConnection, reference: str, now: datetime) -> list[Effect]:
        """The outbox sent the acknowledgement: a "received" request becomes "acknowledged"."""
        from . import cases

        record = await cases.fetch(conn, reference)
        if record is None or record.status != "received":
            return []
        effects: list[Effect] = []
        await self._move(conn, record, "acknowledged", "system", effects, now=now)
        return effects

    async def _move(self, conn: AsyncConnection, record: RequestRecord, new: str, author: str, effects: list[Effect],
                    *, body: str = "", target_days: int | None = None, now: datetime | None = None) -> None:
        from . import cases

        old = await cases.set_status(conn, record, new, author=author, body=body, now=now or self.desk.clock(),
                                     target_days=target_days)
        effects.append(await self.desk.emit(conn, "request_status_changed", request=record.public(),
                                            old_status=old, new_status=new))

    async def _tell_staff(self, conn: AsyncConnection, record: RequestRecord, template_kind: str, body: str) -> None:
        if self.desk.settings.staff_email:
            context = {**self._mail_context(record), "event": template_kind, "body": body}
            await self.desk.mail(conn, "staff_request", self.desk.settings.staff_email, context, reply_to=record.email)

    async def _change(self, reference: str, email: str | None, change: Any) -> RequestRecord:
        from . import cases

        async def work(conn: AsyncConnection) -> tuple[RequestRecord, list[Effect]]:
            record = await cases.fetch(conn, reference, email=email)
            if record is None:
                raise LookupError(f"there is no request {reference!r}" + (" for that email address" if email else ""))
            effects: list[Effect] = []
            await change(conn, record, effects)
            fresh = await cases.fetch(conn, reference)
            assert fresh is not None
            return fresh, effects

        record, effects = await self.desk.write(work)
        self.desk.fire(effects)
        return record

    def _mail_context(self, record: RequestRecord, locale: str | None = None) -> dict[str, Any]:
        """What the request mails show. Mail to the customer passes the request's ``locale``
        (the language they wrote in); mail to staff is in English, like its templates."""
        from ..i18n import SOURCE_LANGUAGE, translations
        from .cases import STATUS_LABELS

        language = locale or SOURCE_LANGUAGE
        _ = translations(language).gettext
        return {
            "request": record,
            "locale": language,
            "status_label": _(STATUS_LABELS.get(record.status, record.status)),
            "topic_label": _(self.desk.settings.request_topics.get(record.topic, record.topic)),
            "status_link": self.status_link(record.reference, record.email),
            "target_days": self.target_days(record.kind),
        }
