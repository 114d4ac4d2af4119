"""Failed mail: every mail that failed for good or is held by the hourly cap, newest first,
with what is still pending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from inbox.outbox.models import MailState, OutboxMail

MAIL = OutboxMail.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FailedMail:
    id: int
    kind: str
    recipient: str
    conversation_id: int | None
    reason: str
    attempts: int
    failed_at: datetime | None
    held: bool = False  # over the hourly cap of automatic mail, never tried


@dataclass
class FailurePage:
    mails: list[FailedMail]
    next_after: int | None
    failed_total: int
    held_total: int
    pending: dict[str, int]  # state -> count, for queued and sending


_LISTED_STATES = (MailState.FAILED, MailState.HELD, MailState.QUEUED, MailState.SENDING)


def list_failed_mails(
    session: Session, *, after: int | None = None, limit: int = 50
) -> FailurePage:
    """Failed and held mails, newest first (keyset on id), with the totals of failed, held and
    pending mails."""
    m = MAIL.c
    query = (
        sa.select(
            m.id,
            m.kind,
            m.recipient,
            m.conversation_id,
            m.last_error,
            m.server_reply,
            m.attempts,
            m.failed_at,
            m.state,
        )
        .where(m.state.in_((MailState.FAILED, MailState.HELD)))
        .order_by(m.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(m.id < after)
    found = session.execute(query).all()
    mails = [
        FailedMail(
            id=item.id,
            kind=item.kind,
            recipient=item.recipient,
            conversation_id=item.conversation_id,
            reason=item.last_error or item.server_reply or "No reason recorded.",
            attempts=item.attempts,
            failed_at=item.failed_at,
            held=item.state == MailState.HELD,
        )
        for item in found[:limit]
    ]
    counts = dict(
        session.execute(
            sa.select(m.state, sa.func.count()).where(m.state.in_(_LISTED_STATES)).group_by(m.state)
        ).all()
    )
    return FailurePage(
        mails=mails,
        next_after=mails[-1].id if len(found) > limit else None,
        failed_total=counts.get(MailState.FAILED, 0),
        held_total=counts.get(MailState.HELD, 0),
        pending={state: counts.get(state, 0) for state in (MailState.QUEUED, MailState.SENDING)},
    )


def mask_address(address: str) -> str:
    """'annabel@example.org' -> 'an…@example.org': enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}…@{domain}" if domain else f"{shown}…"
