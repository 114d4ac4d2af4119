"""Password hashing with argon2 (pwdlib's recommended settings) and the password rules."""

from __future__ import annotations

import re
from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError

MIN_LENGTH = 12
MAX_LENGTH = 1024

# The hash of a random string nobody knows: verified against when an account does not exist, so
# that "no such account" takes as long as "wrong password" and timing does not reveal accounts.
_UNKNOWN_ACCOUNT_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$NBfuUTCFPS1pRmMBWzbxhA"
    "$LmEtQm+A6/pkSq2ISFmO6AW/dCh32ZuUOPtQSeEdWRc"
)


def hasher() -> PasswordHash:
    """argon2id with pwdlib's recommended parameters (cheap to build; built per use)."""
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """The argon2 hash to store."""
    return hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters, else None).

    `password_hash=None` (no such account) costs the same as a real check and never matches.
    """
    if password_hash is None:
        hasher().verify(password, _UNKNOWN_ACCOUNT_HASH)
        return False, None
    try:
        return hasher().verify_and_update(password, password_hash)
    except UnknownHashError:
        return False, None


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked lists, as shipped by zxcvbn (lower case)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # a large module: loaded on first use

    return frozenset(FREQUENCY_LISTS["passwords"])


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why `password` may not be used, in words for the form; None when it is fine.

    Refused besides length: the common passwords (ignoring case, spaces and punctuation) and
    the account's own e-mail address or the name before its @."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters; a few unrelated words work well."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if not password.strip():
        return "The password cannot be only spaces."
    plain = _plain(password)
    if password.lower() in common_passwords() or plain in common_passwords():
        return "This is one of the most used passwords. Choose words nobody would guess."
    if email and plain in {_plain(email), _plain(email.partition("@")[0])}:
        return "The password cannot be your e-mail address."
    return None
