"""Events from customer input: pluggy hooks in the process, signed webhooks to other systems.

Hooks (``selfservice`` project name) are called *after* the record is committed, never
inside the transaction; an exception in a hook is logged and does not reach the customer::

    from selfservice.hooks import hookimpl

    class Notify:
        @hookimpl
        def request_created(self, request):
            print("new", request["kind"], request["reference"])

    portal = create_portal(Settings(..., plugins=[Notify()]))   # or portal.hooks.register(Notify())

Every hook receives plain dicts (JSON-ready: ISO dates, no database objects), the same data
the webhook carries. Customer email addresses are included: plugins run inside your process.

Webhooks: with ``Settings.webhook_url``, each event is also written to the outbox in the
same transaction as the record, and delivered by the outbox worker as a JSON ``POST``::

    {"id": "evt_…", "event": "request.created", "created_at": "…", "data": {…}}

with headers ``X-Selfservice-Event``, ``X-Selfservice-Delivery`` (the event id: the same on
every retry, so receivers can drop duplicates), ``X-Selfservice-Timestamp`` (Unix seconds)
and ``X-Selfservice-Signature: sha256=<hex>``, the HMAC-SHA256 with ``webhook_secret`` of
``"<timestamp>.<body>"``. Check it with :func:`verify_signature` (or the same three lines in
any language) and refuse timestamps more than five minutes old. Any 2xx answer is success;
anything else, or no answer in 10 s, is retried with exponential backoff (up to
``outbox_max_attempts``); a 4xx other than 408/429 stops the retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

import pluggy

__all__ = [
    "EVENTS",
    "HookSpecs",
    "WebhookError",
    "deliver_webhook",
    "hookimpl",
    "hookspec",
    "make_plugin_manager",
    "sign",
    "verify_signature",
]

log = logging.getLogger("selfservice")

PROJECT = "selfservice"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Hook name → webhook event name.
EVENTS = {
    "feedback_created": "feedback.created",
    "request_created": "request.created",
    "request_status_changed": "request.status_changed",
    "request_escalated": "request.escalated",
}
TIMEOUT = 10.0


class HookSpecs:
    """The hooks a plugin may implement (all optional)."""

    @hookspec
    def feedback_created(self, feedback: dict[str, Any]) -> None:
        """A vote, a vote's reason/comment, or a CSAT/NPS answer was stored.

        ``feedback["type"]`` is ``"vote"`` or ``"survey"``.
        """

    @hookspec
    def request_created(self, request: dict[str, Any]) -> None:
        """A contact request or complaint was stored; ``request["reference"]`` is what the customer holds."""

    @hookspec
    def request_status_changed(self, request: dict[str, Any], old_status: str, new_status: str) -> None:
        """A request moved along its timeline (by staff, the customer or the outbox)."""

    @hookspec
    def request_escalated(self, request: dict[str, Any]) -> None:
        """A request passed its response date unanswered (ISO 10002 escalation)."""


def make_plugin_manager(plugins: Iterable[object] = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(HookSpecs)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def call_hook(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> None:
    """Call hook ``name`` on every plugin, each on its own: one plugin's exception is logged
    and neither reaches the customer nor keeps the other plugins from hearing of the event."""
    for impl in reversed(getattr(pm.hook, name).get_hookimpls()):  # pluggy's order: last registered first
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames if arg in kwargs})
        except Exception:  # noqa: BLE001 - a plugin's bug must not fail the customer's request
            log.exception("selfservice plugin %s failed in %s", impl.plugin_name, name)


# -- webhooks ---------------------------------------------------------------------------------


class WebhookError(Exception):
    """A delivery failed; ``permanent`` stops the retries."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Selfservice-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """For receivers: is this delivery signed with ``secret`` and fresh? (``headers`` case-insensitive)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lower.get("x-selfservice-timestamp", ""))
    except ValueError:
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), lower.get("x-selfservice-signature", ""))


def webhook_payload(event_id: str, hook: str, data: Mapping[str, Any], created_at: str) -> dict[str, Any]:
    """The JSON body stored in the outbox (and sent as is on every attempt)."""
    return {"id": event_id, "event": EVENTS[hook], "created_at": created_at, "data": dict(data)}


async def deliver_webhook(url: str, secret: str, payload: Mapping[str, Any], *, timeout: float = TIMEOUT) -> None:
    """POST one event, signed; raise :class:`WebhookError` unless the answer is 2xx."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "selfservice-webhook/1",
        "X-Selfservice-Event": str(payload.get("event", "")),
        "X-Selfservice-Delivery": str(payload.get("id", "")),
        "X-Selfservice-Timestamp": str(timestamp),
        "X-Selfservice-Signature": sign(secret, timestamp, body),
    })

    def post() -> int:
        # No redirects: a signed event must reach the configured URL or fail visibly.
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(request, timeout=timeout) as response:
            return int(response.status)

    try:
        status = await asyncio.to_thread(post)
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 425, 429)
        raise WebhookError(f"{url} answered {exc.code} {exc.reason}", permanent=permanent) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(f"{url} could not be reached: {reason}") from None
    if not 200 <= status < 300:
        raise WebhookError(f"{url} answered {status}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
