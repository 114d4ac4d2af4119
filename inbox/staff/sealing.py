"""Secrets the service must read back (the TOTP secret of an authenticator app) are stored
sealed: Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`) under a key derived from
INBOX_SECRET_KEY with HKDF, so a copy of the database or a backup alone does not let anyone make
a nurse's codes. A value stored before sealing existed is read as it is and sealed on its next
use (and by migration 0016 when the key is set).

Changing INBOX_SECRET_KEY therefore means enrolling the authenticator apps again, as it already
means new recovery codes.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "gAAAAA"  # every Fernet token starts with its version byte and a timestamp's zeros


class SealBroken(ValueError):
    """A sealed value that this secret key cannot open (the key changed, or the row was edited)."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"inbox staff second-factor secrets"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret_key: str, value: str) -> str:
    """`value` sealed for storage."""
    return _fernet(secret_key).encrypt(value.encode()).decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(_PREFIX)


def unseal(secret_key: str, stored: str) -> str:
    """The value a stored string holds (one stored before sealing is returned as it is)."""
    if not is_sealed(stored):
        return stored
    try:
        return _fernet(secret_key).decrypt(stored.encode()).decode()
    except InvalidToken as exc:
        raise SealBroken("the stored second-factor secret cannot be opened with this key") from exc
