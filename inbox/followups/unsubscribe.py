"""Unsubscribe links: an opaque random token per address, kept in `unsubscribe_token`, in an
absolute link built from INBOX_PUBLIC_URL, and the RFC 8058 headers every automatic mail to a
patient carries.

A token never expires (a link in a months-old mail must still work) and tells nothing of the
address: only the database maps it back. Mails sent before tokens were stored carry a signed
token that holds the address itself (base64, readable by anyone who has the link); those are
still honoured, never made any more.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from inbox.config import Settings
from inbox.followups.models import UnsubscribeToken

LEGACY_SALT = "inbox.followups.unsubscribe.v1"
PATH = "/unsubscribe"


def _address(email: str) -> str:
    return email.strip().lower()


def token_for(session: Session, *, email: str, now: datetime, proposed: str | None = None) -> str:
    """The address's token, made on first use (two workers racing agree on one); a new one is
    `proposed` when given (`known_token_or_new`, read before the transaction)."""
    address = _address(email)
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    session.execute(
        insert(UnsubscribeToken.__table__)  # type: ignore[attr-defined]
        .values(token=proposed or new_token(), email=address, created_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
    )
    return session.exec(
        select(UnsubscribeToken.token).where(UnsubscribeToken.email == address)
    ).one()


def known_token_or_new(session: Session, *, email: str) -> str:
    """The address's token if it has one, else a new one to propose to `token_for`; writes
    nothing (a mail is built with it before its transaction)."""
    known = session.exec(
        select(UnsubscribeToken.token).where(UnsubscribeToken.email == _address(email))
    ).first()
    return known or new_token()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def address_of(session: Session, settings: Settings, token: str) -> str | None:
    """The address a link's token stops, or None when no such link was ever made."""
    if len(token) <= 64:
        found = session.get(UnsubscribeToken, token)
        if found is not None:
            return found.email
    return read_legacy_token(settings, token)


def make_legacy_token(settings: Settings, email: str) -> str:
    """The signed, address-holding token of links sent before `unsubscribe_token` (tests)."""
    return URLSafeSerializer(settings.secret_key, salt=LEGACY_SALT).dumps(_address(email))


def read_legacy_token(settings: Settings, token: str) -> str | None:
    """The address in an old signed token, or None when it was forged, altered or cut."""
    try:
        email = URLSafeSerializer(settings.secret_key, salt=LEGACY_SALT).loads(token)
    except BadSignature:
        return None
    return email if isinstance(email, str) and "@" in email else None


def unsubscribe_url(settings: Settings, token: str) -> str:
    """The absolute link that stops automatic mail to the token's address."""
    return f"{settings.public_url.rstrip('/')}{PATH}/{token}"


def unsubscribe_headers(settings: Settings, token: str) -> dict[str, str]:
    """List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click) for a mail."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(settings, token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
