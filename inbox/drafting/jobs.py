"""The drafting job of the worker: draft every accepted message that has no draft yet.

Each message is drafted in its own short transaction. On PostgreSQL the message row is claimed
with `FOR UPDATE SKIP LOCKED` and `draft_message` locks the conversation, so several workers
share the queue without drafting one message twice or racing for a conversation's one draft.
On SQLite a write transaction holds the database's one write lock, which every form post and
staff action waits for: the message is triaged and its reply rendered first, outside any
transaction (`prepare_draft`), and so is what the job's `ahead` hook prepares for its `after`
hook (the worker builds the acknowledgement there); the transaction only checks and writes.
Drafting is idempotent besides.

What triage and rendering read besides the database (the articles, the compiled rules, the
learned model, the mail templates) is loaded before the first transaction (`_load`; `ready`
loads once per process however many drafters start together): a drafter that had to triage
inside its transaction (another took the message it prepared; PostgreSQL) must never load them
there, where seconds of loading would keep every other writer waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import col

from inbox import queues
from inbox.conversations.models import Message, MessageStatus
from inbox.db import read_scope, session_scope
from inbox.drafting.service import Prepared, draft_message, prepare_draft
from inbox.knowledge.service import ready
from inbox.runtime import Runtime

log = logging.getLogger(__name__)
# between its steps a draft waits this long at most for the requests in flight (inbox.foreground)
STEP_ASIDE_SECONDS = 0.05


AfterDraft = Callable[..., object]
AheadOfDraft = Callable[..., object]


def draft_pending(
    runtime: Runtime, *, after: AfterDraft | None = None, ahead: AheadOfDraft | None = None
) -> int:
    """Draft up to one batch of pending messages, oldest first; returns how many were drafted.

    `after(session, runtime=, message_id=, draft=, ahead=)` runs in each message's transaction
    once it is drafted (the worker passes the notices: acknowledgement, urgent staff alert).
    On SQLite, `ahead(session, runtime=, message=, prepared=)` runs before that transaction,
    with a session that only reads and the message's `Prepared` draft; what it returns is
    `after`'s `ahead` (elsewhere `ahead` is None)."""
    drafted = 0
    failed: set[int] = set()  # a message that cannot be drafted must not block the others
    for turn in queues.batch(runtime.settings):
        if turn == 0:
            if not queues.waiting(runtime.engine, sa.and_(*_waiting(set()))):
                break  # an idle worker loads nothing
            _load(runtime)
        message_id: int | None = None
        runtime.foreground.step_aside(STEP_ASIDE_SECONDS)
        try:
            prepared, early = None, None
            if runtime.sqlite:
                prepared, early = _prepare_next(runtime, skip=failed, ahead=ahead)
                runtime.foreground.step_aside(STEP_ASIDE_SECONDS)
            with session_scope(runtime.engine) as session:
                message_id = _claim_next(session, skip=failed)
                if message_id is None:
                    break
                draft = draft_message(
                    session, runtime=runtime, message_id=message_id, prepared=prepared
                )
                if after is not None:
                    early = (
                        early
                        if prepared is not None and prepared.message_id == message_id
                        else None
                    )
                    after(session, runtime=runtime, message_id=message_id, draft=draft, ahead=early)
            drafted += 1
        except Exception:
            if message_id is None:
                raise
            log.exception("drafting message %s failed; it stays pending", message_id)
            failed.add(message_id)
    return drafted


def _load(runtime: Runtime) -> None:
    """The articles, rules, model and mail renderer, loaded now unless they are already."""
    ready(runtime.knowledge)
    runtime.renderer  # noqa: B018 - built on first use


def _prepare_next(
    runtime: Runtime, *, skip: set[int], ahead: AheadOfDraft | None
) -> tuple[Prepared | None, object]:
    """The slow part of drafting the message `_claim_next` is about to take, read without the
    write lock (should another drafter take it first, `draft_message` leaves this unused), and
    what `ahead` prepares for it."""
    with read_scope(runtime.engine) as session:
        query = sa.select(Message).where(*_waiting(skip)).order_by(col(Message.id)).limit(1)
        message = session.execute(query).scalar()
        if message is None:
            return None, None
        try:
            prepared = prepare_draft(runtime, message=message)
        except Exception:  # noqa: BLE001 - drafting it in the transaction fails too, and says why
            return None, None
        if ahead is None:
            return prepared, None
        runtime.foreground.step_aside(STEP_ASIDE_SECONDS)
        try:
            return prepared, ahead(session, runtime=runtime, message=message, prepared=prepared)
        except Exception:  # noqa: BLE001 - `after` does it all in the transaction instead
            log.exception("preparing the notices of message %s failed", message.id)
            return prepared, None


def _claim_next(session: sa.orm.Session, *, skip: set[int]) -> int | None:
    """The oldest pending message nobody else is drafting right now, locked for this transaction."""
    query = (
        sa.select(col(Message.id))
        .where(*_waiting(skip))
        .order_by(col(Message.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.execute(query).scalar()


def _waiting(skip: set[int]) -> list[sa.ColumnElement[bool]]:
    """Accepted messages without a draft, but for `skip`."""
    where = [col(Message.drafted_at).is_(None), col(Message.status) == MessageStatus.ACCEPTED]
    return where + ([col(Message.id).not_in(skip)] if skip else [])
