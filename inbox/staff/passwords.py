"""Password hashing with argon2 (pwdlib's recommended settings) and the password rules.

argon2 runs on threads of its own at the lowest CPU priority (`_at_low_priority`): with four
lanes it keeps every core of a small machine busy for a large part of a second, and the
patients' form posts and the staff pages served meanwhile must not wait for a CPU behind it.
On an idle machine a sign-in takes as long as before; on a busy one it waits instead of them.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

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


T = TypeVar("T")


def hash_password(password: str) -> str:
    """The argon2 hash to store."""
    return _at_low_priority(hasher().hash, password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated parameters, else None).

    `password_hash=None` (no such account) costs the same as a real check and never matches.
    """
    if password_hash is None:
        _at_low_priority(hasher().verify, password, _UNKNOWN_ACCOUNT_HASH)
        return False, None
    try:
        return _at_low_priority(hasher().verify_and_update, password, password_hash)
    except UnknownHashError:
        return False, None


def _at_low_priority(work: Callable[..., T], *args: str) -> T:
    """`work(*args)` on the hashing threads, whose CPU priority is the lowest (nice 19): the
    threads argon2 starts for its lanes inherit it."""
    return _hashing_threads().submit(work, *args).result()


@cache
def _hashing_threads() -> ThreadPoolExecutor:
    """The process's hashing threads, started on first use (a few sign-ins at once)."""
    return ThreadPoolExecutor(
        max_workers=4, thread_name_prefix="argon2", initializer=_lowest_priority
    )


def _lowest_priority() -> None:
    """This thread (on Linux, where the nice value is per thread) yields the CPU to any other."""
    with contextlib.suppress(OSError, AttributeError):  # elsewhere: the usual priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


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
