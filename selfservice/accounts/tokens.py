"""Signed, expiring, single-use links: password reset, email change, payment return, sessions.

A token is an itsdangerous ``URLSafeTimedSerializer`` signature over a small JSON payload:

* **per purpose**: each purpose has its own salt (``selfservice.accounts.<purpose>``), so a
  token made for one flow never verifies in another;
* **key rotation**: signed with the newest of ``Settings.secret_keys``, accepted with any;
* **expiry**: ``max_age`` seconds, checked against the token's own timestamp (1 h for resets);
* **single use without storage**: the payload carries a keyed hash of the account's
  *state* — password fingerprint, last login, email. Using the link changes the password
  (or the email), the state no longer matches, and the same link is dead.

The hash is keyed with the signing key and truncated; the password fingerprint itself is
never in a token, a log line or the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .backend import Account

__all__ = ["PURPOSES", "TokenError", "Tokens", "account_state"]

PURPOSES = ("password-reset", "email-change", "payment-return", "session", "reauth")
_STATE_BYTES = 16


class TokenError(Exception):
    """A token is expired, tampered with, for another purpose or already used.

    ``reason`` is one of ``expired``, ``invalid``, ``used``; the page shown to the customer
    is the same for all of them, the audit log keeps the reason.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def account_state(account: Account, key: str) -> str:
    """A keyed hash of what must not change while a link is valid."""
    material = "\x1f".join(
        (
            account.id,
            account.password_fingerprint,
            account.last_login.isoformat() if account.last_login else "",
            account.email.lower(),
        )
    )
    digest = hmac.new(key.encode(), material.encode(), hashlib.sha256).digest()[:_STATE_BYTES]
    return digest.hex()


@dataclass(frozen=True, slots=True)
class _Loaded:
    payload: Mapping[str, Any]
    issued_at: float


class Tokens:
    """Makes and checks tokens for one purpose. ``keys`` are newest first, as in Settings."""

    def __init__(
        self, keys: Sequence[str], purpose: str, *, max_age: int, clock: Callable[[], float] = time.time
    ) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}; one of {', '.join(PURPOSES)}")
        if not keys:
            raise ValueError("at least one secret key is needed")
        self.keys = tuple(keys)
        self.purpose = purpose
        self.max_age = max_age
        self._clock = clock
        # itsdangerous signs with the *last* key of the list and accepts all of them.
        self._serializer = _ClockedSerializer(list(reversed(self.keys)), salt=f"selfservice.accounts.{purpose}")
        self._serializer.clock = clock

    def make(self, account: Account | None = None, **data: Any) -> str:
        """A token for ``account`` (bound to its current state) carrying ``data``."""
        payload = dict(data)
        if account is not None:
            payload["u"] = account.id
            payload["s"] = account_state(account, self.keys[0])
        return self._serializer.dumps(payload)

    def peek(self, token: str) -> Mapping[str, Any]:
        """Check signature, purpose and age; return the payload. Raises :class:`TokenError`."""
        return self._load(token).payload

    def issued_at(self, token: str) -> float:
        return self._load(token).issued_at

    def _load(self, token: str) -> _Loaded:
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise TokenError("invalid")
        try:
            payload, ts = self._serializer.loads(token, max_age=self.max_age, return_timestamp=True)
        except SignatureExpired:
            raise TokenError("expired") from None
        except (BadSignature, ValueError, TypeError, UnicodeError):
            raise TokenError("invalid") from None
        if not isinstance(payload, dict):
            raise TokenError("invalid")
        return _Loaded(payload, ts.timestamp())

    def check_account(self, payload: Mapping[str, Any], account: Account | None) -> Account:
        """The account a token was made for, if it is still in the state it was then."""
        if account is None or not account.active or payload.get("u") != account.id:
            raise TokenError("used")
        state = payload.get("s")
        if not isinstance(state, str) or not any(
            hmac.compare_digest(state, account_state(account, key)) for key in self.keys
        ):
            raise TokenError("used")
        return account


class _ClockedSerializer(URLSafeTimedSerializer):
    """``URLSafeTimedSerializer`` whose signer reads an injected clock (tests skip ahead)."""

    clock: Callable[[], float] = time.time

    def make_signer(self, salt: str | bytes | None = None) -> Any:
        signer = super().make_signer(salt)
        clock = self.clock
        setattr(signer, "get_timestamp", lambda: int(clock()))  # noqa: B010 - an instance override
        return signer
