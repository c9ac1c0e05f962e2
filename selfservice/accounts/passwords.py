"""Is a new password good enough? Length and a list of common passwords, nothing more.

Following NIST SP 800-63B: no composition rules (they make passwords worse), a minimum
length, a generous maximum (hashing a megabyte is a denial of service, not security), and a
refusal of passwords that are on a list of common ones or that are just the customer's own
name or address. The list ships as package data (``common-passwords.txt``); before looking
a password up, trailing digits and symbols are stripped and l33t spellings undone, so
``Password123!`` and ``p@55w0rd`` are refused along with ``password``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib.resources import files

from ..i18n import translations

__all__ = ["MAX_LENGTH", "common_passwords", "password_problems"]

MAX_LENGTH = 256
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t"})
_TAIL = re.compile(r"[\d\W_]+$")
_HEAD = re.compile(r"^[\d\W_]+")


@cache
def common_passwords() -> frozenset[str]:
    text = files("selfservice.accounts").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _candidates(password: str) -> set[str]:
    low = password.lower().strip()
    forms = {low, low.translate(_LEET)}
    for form in list(forms):
        core = _HEAD.sub("", _TAIL.sub("", form))
        if core:
            forms.add(core)
            forms.add(core.translate(_LEET))
    # "passwordpassword", "abcabcabc": one short word repeated.
    for form in list(forms):
        for size in range(1, len(form) // 2 + 1):
            if len(form) % size == 0 and form[:size] * (len(form) // size) == form:
                forms.add(form[:size])
                break
    return forms


def password_problems(password: str, *, min_length: int = 10, personal: Iterable[str] = (), locale: str = "en") -> list[str]:
    """What is wrong with ``password``, as messages for the customer; ``[]`` means it is fine.

    ``personal`` are the customer's own details (username, email, name); a password made of
    one of them is refused. The messages are in ``locale``'s language.
    """
    catalog = translations(locale)
    _ = catalog.gettext
    if not isinstance(password, str) or not password:
        return [_("Enter a new password.")]
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(catalog.ngettext("Use at least %(num)s character (you used %(used)s).",
                                        "Use at least %(num)s characters (you used %(used)s).",
                                        min_length) % {"num": min_length, "used": len(password)})
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(max)s characters.") % {"max": MAX_LENGTH})
        return problems
    if password.strip() != password and not password.strip():
        problems.append(_("A password can't be only spaces."))
    forms = _candidates(password)
    if forms & common_passwords() or len(set(password)) <= 2:
        problems.append(_("This password is too common and easy to guess; choose something less predictable, "
                          "such as three or four unrelated words."))
    words: set[str] = set()
    for value in personal:
        value = (value or "").lower()
        words.add(value)
        words.update(w for w in re.split(r"[@.\s_+-]+", value) if len(w) >= 4)
    low = password.lower()
    if any(len(w) >= 4 and (w in forms or (w in low and len(re.sub(r"[\d\W_]", "", low.replace(w, ""))) < 6))
           for w in words):
        problems.append(_("Your password is too similar to your name, username or email address."))
    return problems
