"""Reference numbers a customer can read out on the phone and type back without mistakes.

A reference looks like ``C-7K4M-X9TH``: a letter for the kind (``R`` contact request, ``C``
complaint), seven random characters and one check character. The alphabet leaves out
everything that is easy to confuse when read aloud, handwritten or set in a poor font —
``0 O Q D``, ``1 I L``, ``2 Z``, ``5 S``, ``8 B``, ``6 G``, ``U V Y`` — so 19 characters
remain and 19⁷ (894 million) references exist per kind. They are random, not sequential, so one customer's
reference says nothing about how many others wrote to us, and guessing one is no use without
the email address that goes with it (and the status lookup is rate limited).

The check character (a weighted sum modulo 19, a prime) catches every single mistyped
character and every swap of two neighbours, so :func:`parse` rejects most typos before any database lookup.
:func:`parse` forgives case, spaces, missing or extra dashes and the most common look-alikes.
"""

from __future__ import annotations

import secrets

__all__ = ["ALPHABET", "KINDS", "format_reference", "new_reference", "parse"]

ALPHABET = "34679ACEFHJKMNPRTWX"
KINDS = {"contact": "R", "complaint": "C"}
_BODY = 7
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Characters that are not in the alphabet but that a customer may type for one that is.
_LOOKALIKES = str.maketrans({"G": "6", "-": "", " ": "", "_": "", ".": ""})


def _check(body: str) -> str:
    n = len(ALPHABET)  # prime, and weights 1..7 differ by 1: no substitution or swap cancels out
    total = sum((i + 1) * _VALUE[ch] for i, ch in enumerate(body))
    return ALPHABET[total % n]


def format_reference(prefix: str, body: str) -> str:
    """``prefix`` and the 7-character ``body`` as ``P-XXXX-XXXX`` (check character added)."""
    full = body + _check(body)
    return f"{prefix}-{full[:4]}-{full[4:]}"


def new_reference(kind: str) -> str:
    """A fresh random reference for a ``contact`` request or a ``complaint``."""
    prefix = KINDS[kind]
    return format_reference(prefix, "".join(secrets.choice(ALPHABET) for _ in range(_BODY)))


def parse(text: str) -> str | None:
    """The canonical form of what a customer typed, or ``None`` if it cannot be a reference.

    >>> parse(" c 7k4m x9th ") == parse("C-7K4M-X9TH")
    True
    """
    if not isinstance(text, str) or len(text) > 40:
        return None
    cleaned = text.strip().upper().translate(_LOOKALIKES)
    if len(cleaned) != 2 + _BODY or cleaned[0] not in KINDS.values():
        return None
    body, check = cleaned[1 : 1 + _BODY], cleaned[-1]
    if any(ch not in _VALUE for ch in body) or _check(body) != check:
        return None
    return format_reference(cleaned[0], body)
