"""The back office behind the customer forms: one lazily opened store and the services over it.

``create_portal`` builds one :class:`Desk` (``portal.desk``) without touching the database:
nothing here imports SQLAlchemy until the first form is posted, so content pages and cold
starts never pay for it. The store is the portal's one store (``PortalState.get_store``,
shared with the account pages); it opens on first use, or at start-up when the portal's
lifespan runs (uvicorn, or a host that runs it) — which is where a database that is behind
fails with "run `selfservice db upgrade`". An embedded SQLite file that does not exist yet
(or has no selfservice tables at all) is created first (the first local run just works; ``demo``/``debug`` also upgrade an existing
one); a PostgreSQL schema is only ever changed by ``selfservice db upgrade``.

The services:

* ``desk.requests`` (:class:`~.desk_requests.Requests`, also ``portal.requests``) — contact
  requests and complaints, including the staff API.
* ``desk.feedback`` (:class:`~.desk_feedback.Feedback`) — votes, surveys, suggestions.
* ``desk.searches`` (:class:`~.desk_search.SearchLog`) — search analytics, queued in memory
  and written in the background; popular queries for autocomplete.
* ``desk.worker`` — the outbox worker delivering mail and webhooks, started with the store.
* ``desk.hooks`` — the pluggy plugin manager (``Settings.plugins`` registered).

The store, its group commit and the worker belong to the event loop that opened them; a new
loop (a test client without ``with``) gets its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..csrf import IdSigner, Signer
from ..ratelimit import RateLimits
from ..settings import Settings

if TYPE_CHECKING:
    import jinja2
    import pluggy
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection

    from ..mail import Mailer
    from .batch import GroupCommit
    from .engine import Store
    from .outbox import OutboxItem, OutboxWorker

__all__ = ["Desk", "SURVEY_KINDS"]

log = logging.getLogger("selfservice")

SURVEY_KINDS = {"csat": (1, 5), "nps": (0, 10)}
SURVEY_MAX_AGE = timedelta(days=60)
ACCESS_MAX_AGE = timedelta(days=180)
Effect = tuple[str, dict[str, Any]]  # (hook name, keyword arguments) to call after a commit


def _now() -> datetime:
    return datetime.now(UTC)


class Desk:
    """Store, outbox, mailer, hooks, rate limits and signing for one portal."""

    def __init__(self, settings: Settings, env: jinja2.Environment, *,
                 get_store: Callable[[], Awaitable[Store]] | None = None,
                 clock: Callable[[], datetime] | None = None,
                 at_loop_end: Callable[[Callable[[], Awaitable[None]]], None] | None = None) -> None:
        from .desk_feedback import Feedback
        from .desk_requests import Requests
        from .desk_search import SearchLog

        self.settings = settings
        self.env = env
        self.limits = RateLimits(settings)
        self.clock: Callable[[], datetime] = clock or _now
        self._get_store = get_store  # None: the desk opens (and closes) a store of its own
        self._at_loop_end = at_loop_end  # with a shared store: stop the worker before it closes
        self.app: Any = None  # the Portal, for url_path_for; set by create_portal
        self.seen_root: str | None = None  # a local demo's own URL, for mail links without base_url
        self.requests = Requests(self)
        self.feedback = Feedback(self)
        self.searches = SearchLog(self)
        self._pm: pluggy.PluginManager | None = None
        self._mailer: Mailer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._store: Store | None = None
        self._group: GroupCommit | None = None
        self._worker: OutboxWorker | None = None
        self._opening: asyncio.Lock | None = None
        self._queued = False  # an outbox row was written since the worker was last woken
        self._signers: dict[str, Signer] = {}
        self._id_signers: dict[str, IdSigner] = {}
        self._key = hashlib.blake2b(settings.secret_keys[0].encode(), digest_size=32, person=b"ss-desk").digest()

    # -- pieces built on first use --------------------------------------------------------

    @property
    def hooks(self) -> pluggy.PluginManager:
        """The plugin manager: ``portal.desk.hooks.register(plugin)``."""
        if self._pm is None:
            from ..hooks import make_plugin_manager

            self._pm = make_plugin_manager(self.settings.plugins)
        return self._pm

    @property
    def mailer(self) -> Mailer:
        if self._mailer is None:
            from ..mail import default_mailer

            self._mailer = default_mailer(self.settings)
        return self._mailer

    @mailer.setter
    def mailer(self, value: Mailer) -> None:
        self._mailer = value

    def signer(self, purpose: str) -> Signer:
        signer = self._signers.get(purpose)
        if signer is None:  # building one derives keys: keep one per purpose
            signer = self._signers[purpose] = Signer(self.settings.secret_keys, purpose)
        return signer

    def id_signer(self, purpose: str) -> IdSigner:
        """The cheap signer for bare random ids (the visitor cookie), one per purpose."""
        signer = self._id_signers.get(purpose)
        if signer is None:
            signer = self._id_signers[purpose] = IdSigner(self.settings.secret_keys, purpose)
        return signer

    def hash(self, value: str, size: int = 16) -> str:
        """A keyed hash (visitor ids, email addresses in tokens): stable, not reversible."""
        return hashlib.blake2b(value.encode("utf-8", "replace"), key=self._key, digest_size=size).hexdigest()

    # -- the store ------------------------------------------------------------------------

    async def store(self) -> Store:
        """The open store for the running event loop (opened, checked and its worker started on first use)."""
        loop = asyncio.get_running_loop()
        if self._store is not None and self._loop is loop:
            return self._store
        if self._opening is None or self._loop is not loop:
            self._opening, self._loop, self._store = asyncio.Lock(), loop, None
        async with self._opening:
            if self._store is None:
                await self._open()
        assert self._store is not None
        return self._store

    async def _open(self) -> None:
        from .batch import GroupCommit
        from .engine import database_url, sqlite_path
        from .outbox import OutboxWorker
        from .schema import current_revision, open_store, upgrade

        url = self.settings.db_url
        path = sqlite_path(database_url(url))
        if self._get_store is not None:
            if path is not None and (not path.exists() or await current_revision(url) is None):
                # First run: create the embedded database. Also when the file is there but
                # holds no selfservice tables (a first run stopped mid-way: the upgrade is one
                # transaction, so it left nothing half-made).
                await upgrade(url)
            store = await self._get_store()
        else:
            demo = self.settings.demo or self.settings.debug
            store = await open_store(url, create=path is not None and (demo or not path.exists()))
        self._group = GroupCommit(store)
        self._worker = OutboxWorker(
            self.store, self._deliver, max_attempts=self.settings.outbox_max_attempts, after_sent=self._after_sent,
            on_committed=self.fire, periodic=[self._periodic], clock=lambda: self.clock(),
        )
        self._store = store
        self._worker.start()
        if self._at_loop_end is not None:
            self._at_loop_end(self.close)
        self.searches.kick()  # searches recorded before the store was open

    async def open(self) -> None:
        """Open the store now (the portal's lifespan calls this at start-up)."""
        await self.store()

    @property
    def ready(self) -> bool:
        """Whether the store is open in the running event loop (writes need no opening)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self._store is not None and self._loop is loop

    async def close(self) -> None:
        """Stop the worker and close the store (the portal's lifespan calls this at shutdown)."""
        await self.searches.close()  # queued search events first, while the store is open
        worker, store = self._worker, self._store
        self._worker = self._store = self._group = None
        self._loop = None
        if worker is not None:
            await worker.stop()
        if store is not None and self._get_store is None:
            await store.close()

    @property
    def worker(self) -> OutboxWorker:
        if self._worker is None:
            raise RuntimeError("the store is not open yet: await portal.desk.open() first")
        return self._worker

    async def write(self, work: Callable[[AsyncConnection], Any]) -> Any:
        """Run ``work(conn)`` in a group-committed write; returns once it is durable."""
        await self.store()
        assert self._group is not None
        return await self._group.run(work)

    # -- what happens after a commit ------------------------------------------------------

    async def emit(self, conn: AsyncConnection, hook: str, **kwargs: Any) -> Effect:
        """Inside a write: queue the webhook for ``hook`` (if configured); return the effect
        to :meth:`fire` after the commit."""
        payload = self._webhook(hook, kwargs)
        if payload is not None:
            from .outbox import enqueue

            await enqueue(conn, "webhook", payload)
            self._queued = True
        return (hook, kwargs)

    def emit_sync(self, conn: Connection, hook: str, **kwargs: Any) -> Effect:
        """:meth:`emit` inside a :meth:`Store.run_write` transaction (synchronous SQLAlchemy)."""
        payload = self._webhook(hook, kwargs)
        if payload is not None:
            from .outbox import enqueue_sync

            enqueue_sync(conn, "webhook", payload)
            self._queued = True
        return (hook, kwargs)

    def _webhook(self, hook: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        if not self.settings.webhook_url:
            return None
        from ..hooks import webhook_payload

        data = kwargs.get("request") or kwargs.get("feedback") or {}
        extra = {k: v for k, v in kwargs.items() if k not in ("request", "feedback")}
        return webhook_payload(f"evt_{secrets.token_hex(12)}", hook, {**data, **extra}, self.clock().isoformat())

    def wake(self) -> None:
        """Tell the outbox worker something was queued (a no-op before the store is open)."""
        if self._worker is not None:
            self._worker.wake()

    def fire(self, effects: Sequence[Effect]) -> None:
        """Call the hooks for committed changes, and wake the worker for their outbox rows."""
        from ..hooks import call_hook

        for hook, kwargs in effects:
            call_hook(self.hooks, hook, **kwargs)
        if self._queued:  # only when an outbox row was written: a vote alone must not wake it
            self._queued = False
            self.wake()

    async def mail(self, conn: AsyncConnection, template: str, to: str, context: dict[str, Any], **extra: Any) -> None:
        """Inside a write: render ``mail/<template>`` and queue it for ``to``."""
        from ..mail import render_mail
        from .outbox import enqueue

        site = {"name": self.settings.site_name, "locale": self.settings.locale, "base_url": self.settings.base_url}
        rendered = render_mail(self.env, template, {"site": site, **context})
        domain = (self.settings.mail_from.rpartition("@")[2].rstrip(">").strip() or "selfservice.invalid")
        payload = {"to": to, "message_id": make_msgid(domain=domain), **rendered, **extra}
        await enqueue(conn, "mail", payload)
        self._queued = True

    async def _deliver(self, item: OutboxItem) -> None:
        if item.kind == "mail":
            from ..mail import build_message

            await self.mailer.send(build_message(item.payload, self.settings.mail_from))
        elif item.kind == "webhook":
            from ..hooks import WebhookError, deliver_webhook

            if not self.settings.webhook_url or not self.settings.webhook_secret:
                raise WebhookError("Settings.webhook_url is no longer set", permanent=True)
            await deliver_webhook(self.settings.webhook_url, self.settings.webhook_secret, item.payload)
        else:  # pragma: no cover - the table's CHECK constraint allows only these
            raise ValueError(f"unknown outbox kind {item.kind!r}")

    async def _after_sent(self, conn: AsyncConnection, item: OutboxItem, now: datetime) -> Any:
        ack = item.payload.get("acknowledges")
        if item.kind == "mail" and isinstance(ack, str):
            return await self.requests.acknowledged(conn, ack, now)
        return None

    async def _periodic(self) -> None:
        await self.requests.escalate_overdue()
        days = self.settings.feedback_retention_days
        if days is not None:
            from .feedback import purge_before

            removed = await purge_before(await self.store(), self.clock() - timedelta(days=days))
            if any(removed.values()):
                log.info("feedback retention: removed %s", removed)

    # -- links ----------------------------------------------------------------------------

    def link_root(self) -> str | None:
        """The portal's absolute URL for links in email: ``base_url`` (or, in a local demo,
        the loopback URL it was opened at); None: emails say how to find the page instead."""
        base = self.settings.base_url or self.seen_root
        return base.rstrip("/") if base else None

    def path(self, name: str, **params: Any) -> str:
        """A route's path inside the portal (no mount prefix)."""
        if self.app is None:
            raise RuntimeError("Desk.app is not set; build the desk with create_portal")
        return str(self.app.url_path_for(name, **params))

    def survey_link(self, kind: str, context: dict[str, Any] | None = None, *,
                    max_age: timedelta = SURVEY_MAX_AGE, root: str | None = None) -> str:
        """A signed link to the ``csat`` or ``nps`` survey carrying ``context`` (JSON values:
        an order number, a request reference, an agent's name …), stored with the answer.

        Absolute when ``root`` or ``Settings.base_url`` is known, else a path inside the portal.
        The link expires after ``max_age``; one answer per link (a second submit changes nothing).
        """
        if kind not in SURVEY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SURVEY_KINDS)}, not {kind!r}")
        import json

        context = dict(context or {})
        if len(json.dumps(context, default=str)) > 2000:
            raise ValueError("the survey context must be small (2,000 characters of JSON at most)")
        expires = int((self.clock() + max_age).timestamp())
        token = self.signer("survey").dumps({"k": kind, "c": context, "n": secrets.token_urlsafe(9), "x": expires})
        base = (root or self.link_root() or "").rstrip("/")
        return f"{base}{self.path('survey', kind=kind)}?t={token}"

    def read_survey_token(self, kind: str, token: str | None) -> dict[str, Any] | None:
        """The survey link's payload when valid for ``kind`` and not expired, else None."""
        data = self.signer("survey").try_loads(token)
        if not isinstance(data, dict) or data.get("k") != kind or not isinstance(data.get("c"), dict):
            return None
        if not isinstance(data.get("x"), int) or data["x"] < self.clock().timestamp():
            return None
        return data

    def access_key(self, reference: str, email: str) -> str:
        """The signed key in a request's status link: it opens the status page without typing."""
        return self.signer("request-access").dumps([reference, self.hash(email.lower(), 8)])

    def check_access_key(self, key: str | None) -> tuple[str, str] | None:
        """(reference, email hash) from a valid key, else None."""
        data = self.signer("request-access").try_loads(key, max_age=int(ACCESS_MAX_AGE.total_seconds()))
        if isinstance(data, list) and len(data) == 2 and all(isinstance(x, str) for x in data):
            return data[0], data[1]
        return None

    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)
