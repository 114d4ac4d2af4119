"""What a live page watches, as one short token: when the token changes, the page has news.

Each token is a handful of indexed reads (highest ids, counts on small indexes), so a stream can
afford one every few seconds. The list's token moves with a new message, a finished draft, a
staff action (the audit log) and a delivery attempt; a conversation's with its state, its
draft's version, its messages, mails and notes. Nothing here writes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from inbox.conversations.models import Conversation, Message
from inbox.drafting.models import Draft, Note
from inbox.live.presence import Seen, present
from inbox.outbox.models import DeliveryAttempt, OutboxMail
from inbox.staff.models import AuditEntry


def _token(values: object) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=8).hexdigest()


def list_token(engine: Engine) -> str:
    """The token of the inbox list (every tab): it changes whenever a row could."""
    with Session(engine) as session:
        values = (
            session.execute(sa.select(sa.func.max(col(Message.id)))).scalar(),
            session.execute(
                sa.select(sa.func.count())
                .select_from(Message)
                .where(col(Message.drafted_at).is_(None))
            ).scalar(),
            session.execute(sa.select(sa.func.max(col(AuditEntry.id)))).scalar(),
            session.execute(sa.select(sa.func.max(col(DeliveryAttempt.id)))).scalar(),
        )
        session.rollback()
    return _token(values)


def conversation_token(session: Session, *, conversation_id: int) -> str:
    """The token of one conversation page: its state, draft, messages, mails and notes (two
    reads: the conversation's row with the others' figures beside it, then its mails)."""

    def of(table: type, *values: Any) -> Any:
        return (
            sa.select(*values)
            .where(col(table.conversation_id) == conversation_id)  # type: ignore[attr-defined]
            .scalar_subquery()
        )

    row = session.execute(
        sa.select(
            col(Conversation.state),
            col(Conversation.updated_at),
            col(Conversation.urgency),
            of(Draft, col(Draft.version)),
            of(Message, sa.func.max(col(Message.id))),
            of(Message, sa.func.count()),
            of(Note, sa.func.max(col(Note.id))),
        ).where(col(Conversation.id) == conversation_id)
    ).first()
    state, updated_at, urgency, version, newest, messages, note = row or (None,) * 7
    mails = tuple(
        tuple(mail)
        for mail in session.execute(
            sa.select(col(OutboxMail.id), col(OutboxMail.state))
            .where(col(OutboxMail.conversation_id) == conversation_id)
            .order_by(col(OutboxMail.id))
        )
    )
    conversation = (state, updated_at, urgency) if row else None
    return _token((conversation, version, (newest, messages or 0), mails, note))


def conversation_news(
    engine: Engine, *, conversation_id: int, now: datetime, window: float
) -> tuple[str, list[Seen]]:
    """A conversation's token and who is on its page, in one short read."""
    with Session(engine) as session:
        token = conversation_token(session, conversation_id=conversation_id)
        seen = present(session, conversation_id=conversation_id, now=now, window=window)
        session.rollback()
    return token, seen
