"""The known-device cookie: a browser that completed a sign-in to an account before.

It holds the account's keyed hash and a random token, signed with the secret key, for
`DEVICE_DAYS`. The sign-in throttle counts a known device on its own and lets it past the
account's progressive delay, so attempts from elsewhere cannot keep the real user out.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, TimestampSigner

from inbox.config import Settings
from inbox.staff import cookies

DEVICE_DAYS = 180


def _signer(settings: Settings) -> TimestampSigner:
    return TimestampSigner(settings.secret_key, salt="inbox.staff.device")


def known_device(request: Request, settings: Settings, *, account: str) -> str | None:
    """The device token when this browser signed in to `account` (a throttle account key)."""
    value = request.cookies.get(cookies.name(settings, "device"))
    if not value:
        return None
    try:
        text = _signer(settings).unsign(value, max_age=DEVICE_DAYS * 86400).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    held, _, token = text.partition(".")
    if not token or not hmac.compare_digest(held.encode(), account.encode()):
        return None
    return token


def remember_device(
    response: Response, *, settings: Settings, account: str, token: str | None
) -> None:
    """Mark this browser as known to `account` (keeping its token when it had one)."""
    value = _signer(settings).sign(f"{account}.{token or secrets.token_urlsafe(16)}").decode()
    cookies.put(
        response, settings=settings, base="device", value=value, max_age=DEVICE_DAYS * 86400
    )
