"""What a live page watches, as one short token: when the token changes, the page has news.

Each token is a handful of indexed reads (highest ids, counts on small indexes), so a stream can
afford one every few seconds. The list's token moves with a new message, a finished draft, a
staff action (the audit log) and a delivery attempt; a conversation's with its state, its
draft's version, its messages, mails and notes. Nothing here writes.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

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
    """The token of one conversation page: its state, draft, messages, mails and notes."""
    conversation = session.execute(
        sa.select(
            col(Conversation.state), col(Conversation.updated_at), col(Conversation.urgency)
        ).where(col(Conversation.id) == conversation_id)
    ).first()
    values = (
        tuple(conversation) if conversation else None,
        session.execute(
            sa.select(col(Draft.version)).where(col(Draft.conversation_id) == conversation_id)
        ).scalar(),
        tuple(
            session.execute(
                sa.select(sa.func.max(col(Message.id)), sa.func.count()).where(
                    col(Message.conversation_id) == conversation_id
                )
            ).one()
        ),
        tuple(
            tuple(row)
            for row in session.execute(
                sa.select(col(OutboxMail.id), col(OutboxMail.state))
                .where(col(OutboxMail.conversation_id) == conversation_id)
                .order_by(col(OutboxMail.id))
            )
        ),
        session.execute(
            sa.select(sa.func.max(col(Note.id))).where(col(Note.conversation_id) == conversation_id)
        ).scalar(),
    )
    return _token(values)


def conversation_news(
    engine: Engine, *, conversation_id: int, now: datetime, window: float
) -> tuple[str, list[Seen]]:
    """A conversation's token and who is on its page, in one short read."""
    with Session(engine) as session:
        token = conversation_token(session, conversation_id=conversation_id)
        seen = present(session, conversation_id=conversation_id, now=now, window=window)
        session.rollback()
    return token, seen
