"""The drafting job of the worker: draft every accepted message that has no draft yet.

Each message is drafted in its own short transaction. On PostgreSQL the message row is claimed
with `FOR UPDATE SKIP LOCKED` and `draft_message` locks the conversation, so several workers
share the queue without drafting one message twice or racing for a conversation's one draft;
on SQLite `BEGIN IMMEDIATE` makes writers take turns. Drafting is idempotent besides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import col

from inbox.conversations.models import Message, MessageStatus
from inbox.db import session_scope
from inbox.drafting.service import draft_message
from inbox.runtime import Runtime

log = logging.getLogger(__name__)


AfterDraft = Callable[..., object]


def draft_pending(runtime: Runtime, *, after: AfterDraft | None = None) -> int:
    """Draft up to one batch of pending messages, oldest first; returns how many were drafted.

    `after(session, runtime=, message_id=, draft=)` runs in each message's transaction once it is
    drafted (the worker passes the notices: acknowledgement, urgent staff alert)."""
    drafted = 0
    failed: set[int] = set()  # a message that cannot be drafted must not block the others
    for _ in range(max(1, runtime.settings.worker_batch_size)):
        message_id: int | None = None
        try:
            with session_scope(runtime.engine) as session:
                message_id = _claim_next(session, skip=failed)
                if message_id is None:
                    break
                draft = draft_message(session, runtime=runtime, message_id=message_id)
                if after is not None:
                    after(session, runtime=runtime, message_id=message_id, draft=draft)
            drafted += 1
        except Exception:
            if message_id is None:
                raise
            log.exception("drafting message %s failed; it stays pending", message_id)
            failed.add(message_id)
    return drafted


def _claim_next(session: sa.orm.Session, *, skip: set[int]) -> int | None:
    """The oldest pending message nobody else is drafting right now, locked for this transaction."""
    query = (
        sa.select(col(Message.id))
        .where(col(Message.drafted_at).is_(None), col(Message.status) == MessageStatus.ACCEPTED)
        .order_by(col(Message.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if skip:
        query = query.where(col(Message.id).not_in(skip))
    return session.execute(query).scalar()
