"""Unsubscribe links: a signed token naming the address, in an absolute link built from
INBOX_PUBLIC_URL, and the RFC 8058 headers every automatic mail to a patient carries.

The token never expires (a link in a months-old mail must still work) and carries nothing but
the address; it is signed with INBOX_SECRET_KEY under a salt of its own, so no other token of
the service (form time-trap, staff session) can be passed off as one.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from inbox.config import Settings

SALT = "inbox.followups.unsubscribe.v1"
PATH = "/unsubscribe"


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=SALT)


def make_token(settings: Settings, email: str) -> str:
    """The signed token for one (normalised) address."""
    return _serializer(settings).dumps(email.strip().lower())


def read_token(settings: Settings, token: str) -> str | None:
    """The address a token was made for, or None when it was forged, altered or cut."""
    try:
        email = _serializer(settings).loads(token)
    except BadSignature:
        return None
    return email if isinstance(email, str) and "@" in email else None


def unsubscribe_url(settings: Settings, email: str) -> str:
    """The absolute link that stops automatic mail to `email`."""
    return f"{settings.public_url.rstrip('/')}{PATH}/{make_token(settings, email)}"


def unsubscribe_headers(settings: Settings, email: str) -> dict[str, str]:
    """List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click) for a mail to `email`."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(settings, email)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
