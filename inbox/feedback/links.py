"""The signed "did this help?" link of one section in one reply, built from INBOX_PUBLIC_URL.

The token names the message and the section and nothing else; it is signed with
INBOX_SECRET_KEY under a salt of its own (no other token of the service passes for one) and
never expires, like the unsubscribe link: a months-old reply can still be rated.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from inbox.config import Settings

SALT = "inbox.feedback.section.v1"
PATH = "/feedback"


@dataclass(frozen=True)
class Rated:
    message_id: int
    section_id: str


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=SALT)


def make_token(settings: Settings, *, message_id: int, section_id: str) -> str:
    """The signed token for one section of the reply to one message."""
    return _serializer(settings).dumps([message_id, section_id])


def read_token(settings: Settings, token: str) -> Rated | None:
    """What a token was made for, or None when it was forged, altered or cut."""
    try:
        value = _serializer(settings).loads(token)
    except BadSignature:
        return None
    match value:
        case [int() as message_id, str() as section_id] if message_id > 0 and section_id:
            return Rated(message_id=message_id, section_id=section_id)
    return None


def feedback_urls(settings: Settings, *, message_id: int, section_ids: list[str]) -> dict[str, str]:
    """The absolute link of each section, by section id (the mail adds ?answer=yes|no)."""
    base = settings.public_url.rstrip("/") + PATH
    return {
        section_id: f"{base}/{make_token(settings, message_id=message_id, section_id=section_id)}"
        for section_id in section_ids
    }
