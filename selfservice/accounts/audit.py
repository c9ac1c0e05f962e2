"""The audit log of account actions: who, what, when, outcome — never secrets.

Every account action writes one row to ``audit_log`` whether it worked or not. What may go
in ``details`` is checked here, not trusted to each caller: keys that name secrets
(password, token, key, card…) are refused outright, so a careless ``details=form`` fails
in tests instead of leaking in production. Submitted email addresses that match no
account are not recorded either (they may be someone else's address, typed by mistake).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from ..store import Store, tables
from .backend import Account

__all__ = ["ACTIONS", "OUTCOMES", "actor_of", "audit", "recent_entries"]

log = logging.getLogger("selfservice.audit")

ACTIONS = frozenset(
    {
        "sign_in", "sign_out", "reauth",
        "password_reset.request", "password_reset.complete",
        "username_reminder.request",
        "order.lookup", "orders.list",
        "profile.update", "email_change.request", "email_change.confirm",
        "billing.view", "billing.pay", "billing.return",
    }
)  # fmt: skip
OUTCOMES = frozenset({"ok", "sent", "no_account", "not_found", "invalid", "expired", "used", "denied", "refused",
                      "rate_limited", "no_base_url", "error"})
_SECRET_KEY = re.compile(r"pass|token|secret|key|card|cvv|cvc|pan|iban|otp|code|signature|hash|cookie", re.I)
_MAX_TEXT = 200


class AuditError(ValueError):
    """A caller tried to put a secret (or an unknown action) into the audit log."""


def actor_of(account: Account | None) -> str:
    return f"account:{account.id}" if account is not None else "anonymous"


def _clean(details: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in details.items():
        if _SECRET_KEY.search(k):
            raise AuditError(f"audit details may not contain {k!r}: never log secrets or tokens")
        if isinstance(v, str):
            v = v[:_MAX_TEXT]
        elif isinstance(v, (list, tuple)):
            v = [str(x)[:_MAX_TEXT] for x in v][:20]
        elif not isinstance(v, (int, float, bool)) and v is not None:
            v = str(v)[:_MAX_TEXT]
        out[k] = v
    return out


async def audit(
    store: Store,
    *,
    action: str,
    outcome: str,
    actor: str = "anonymous",
    target: str = "-",
    at: datetime | None = None,
    **details: Any,
) -> None:
    """Record one account action. Failing to write the log never fails the customer's action."""
    if action not in ACTIONS and not action.startswith("host."):
        raise AuditError(f"unknown audit action {action!r}; host actions use the 'host.' prefix")
    if outcome not in OUTCOMES:
        raise AuditError(f"unknown audit outcome {outcome!r}")
    row = {
        "actor": actor[:120],
        "action": action,
        "target": target[:200],
        "outcome": outcome,
        "details": _clean(details),
        "created_at": at or tables.utcnow(),
    }
    try:
        async with store.write() as conn:
            await conn.execute(insert(tables.audit_log).values(**row))
    except Exception:  # the log is a record, not a gate
        log.exception("could not write the audit log entry for %s", action)


async def recent_entries(store: Store, *, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first; for staff views and tests."""
    query = select(tables.audit_log).order_by(tables.audit_log.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(tables.audit_log.c.target == target)
    async with store.read() as conn:
        return [dict(r._mapping) for r in (await conn.execute(query)).all()]
