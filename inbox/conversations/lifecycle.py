"""The one place that changes `conversation.state`.

    patient writes     (none) -> review        open, or join the contact's open conversation
                       any -> review           reopen on the patient's message (a reply by
                                               e-mail may reopen a closed one)
    spam submission    (none) -> spam
    staff approve      review | failed -> queued   (queue_reply; re-queue of a failed reply)
    delivery           queued | failed -> sent | failed   (replies_sent, replies_failed)
    staff close        review | queued | sent | failed -> closed
    staff reopen       closed | spam -> review
    staff discard      review | failed -> spam
    staff assign       any state: the owner changes (assign), not the state
    staff or triage    the kind changes (set_kind); staff's choice is never overridden by triage
    escalation         an urgent conversation nobody opened: reminded, then escalated

Two ways in, one set of rules: the staff and delivery changes work on ORM objects in a Session;
a patient's message (intake's hot path, inbound mail) runs the SQL text below through a `Run`
(intake's `Statements.run`), on a driver connection or a Session's connection. Callers own the
transaction; nothing here commits.
Follow-ups are not touched here: whoever reopens a conversation also cancels its follow-ups
(`inbox.followups.service.cancel_follow_ups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col

from inbox.conversations.models import (
    Conversation,
    ConversationKind,
    ConversationState,
    Message,
    MessageStatus,
)
from inbox.db import UTCDateTime
from inbox.errors import Conflict, NotFound

State = ConversationState

OPEN_STATES = (State.REVIEW, State.QUEUED, State.SENT, State.FAILED)
"""A patient's new message joins the contact's newest conversation in one of these states."""

_FROM = {
    "queue": (State.REVIEW, State.FAILED),
    "fail": (State.QUEUED,),
    "discard": (State.REVIEW, State.FAILED),
    "close": OPEN_STATES,
    "reopen": (State.CLOSED, State.SPAM),
}
_DONE = {"discard": "discarded as spam", "close": "closed", "reopen": "reopened", "queue": "queued",
         "fail": "failed"}  # fmt: skip


class ConversationNotFound(NotFound):
    pass


class ConversationStateConflict(Conflict):
    """The conversation is not in a state this change starts from."""


def _sql_states(states: Sequence[State]) -> str:
    return ", ".join(f"'{state.value}'" for state in states)


# --- the SQL, written once: the intake hot path and the ORM functions below both run it

OPEN_CONVERSATION = f"""
SELECT id FROM conversation
WHERE contact_id = :contact_id AND state IN ({_sql_states(OPEN_STATES)})
ORDER BY id DESC LIMIT 1"""

NEW_CONVERSATION = """
INSERT INTO conversation
  (contact_id, subject, state, urgent, created_at, updated_at, last_message_at)
VALUES (:contact_id, :subject, :state, :urgent, :now, :now, :now)
RETURNING id"""

REOPEN_ON_MESSAGE = f"""
UPDATE conversation SET state = '{State.REVIEW.value}', last_message_at = :now, updated_at = :now,
  urgent = (urgent OR :urgent)
WHERE id = :id"""


class Rows(Protocol):
    def scalar(self) -> Any: ...
    def scalar_one(self) -> Any: ...


class Run(Protocol):
    """Runs one SQL text with `:name` parameters on a connection (intake's `Statements.run`)."""

    def __call__(self, connection: Any, sql: str, **params: Any) -> Rows: ...


def join_or_open(
    connection: Any, run: Run, *, contact_id: int, subject: str, now: datetime, urgent: bool
) -> tuple[int, bool]:
    """The conversation a patient's new message belongs to: the contact's open one, put back in
    review, or a new one. Returns (conversation id, whether an existing one was joined)."""
    existing = run(connection, OPEN_CONVERSATION, contact_id=contact_id).scalar()
    if existing is None:
        return open_conversation(
            connection, run, contact_id=contact_id, subject=subject, now=now, urgent=urgent
        ), False
    reopen_on_message(connection, run, conversation_id=existing, now=now, urgent=urgent)
    return int(existing), True


def reopen_on_message(
    connection: Any, run: Run, *, conversation_id: int, now: datetime, urgent: bool
) -> None:
    """The patient wrote into this conversation (the form, or a reply by e-mail): back to review,
    urgent if the new message is."""
    run(connection, REOPEN_ON_MESSAGE, id=conversation_id, now=now, urgent=urgent)


def open_conversation(
    connection: Any, run: Run, *, contact_id: int, subject: str, now: datetime, urgent: bool,
    state: State = State.REVIEW,
) -> int:  # fmt: skip
    """A new conversation in review (or in spam, for a submission the filter caught)."""
    return int(
        run(
            connection, NEW_CONVERSATION, contact_id=contact_id, subject=subject[:300],
            state=state.value, urgent=urgent and state == State.REVIEW, now=now,
        ).scalar_one()
    )  # fmt: skip


def open_as_spam(connection: Any, run: Run, *, contact_id: int, subject: str, now: datetime) -> int:
    """A conversation for a submission the spam filter caught: kept, out of the inbox."""
    return open_conversation(
        connection, run, contact_id=contact_id, subject=subject, now=now, urgent=False,
        state=State.SPAM,
    )  # fmt: skip


def locked(session: Session, *, conversation_id: int) -> Conversation:
    """The conversation row, locked (on PostgreSQL) for the rest of the transaction."""
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        raise ConversationNotFound("This conversation does not exist.")
    return conversation


def allows(conversation: Conversation, change: str) -> bool:
    """Whether `change` ("queue", "fail", "discard", "close", "reopen") may start from the
    conversation's state (what the staff page offers)."""
    return conversation.state in _FROM[change]


def _move(conversation: Conversation, change: str, to: State, *, now: datetime) -> None:
    if conversation.state not in _FROM[change]:
        raise ConversationStateConflict(
            f"This conversation is {conversation.state}, so it cannot be {_DONE[change]}."
        )
    conversation.state = to
    conversation.updated_at = now


# --- staff and the outbox


def queue_reply(conversation: Conversation, *, now: datetime) -> None:
    """A reply was approved (or a failed one re-queued): it waits in the outbox."""
    _move(conversation, "queue", State.QUEUED, now=now)


def reply_failed(conversation: Conversation, *, now: datetime) -> None:
    """The queued reply failed for good before any worker had it (it could not be built)."""
    _move(conversation, "fail", State.FAILED, now=now)


def close(conversation: Conversation, *, now: datetime) -> None:
    """Staff close the conversation: nothing more to do for it."""
    _move(conversation, "close", State.CLOSED, now=now)
    conversation.closed_at = now


def discard_as_spam(conversation: Conversation, *, now: datetime) -> None:
    """Staff mark the conversation as spam: out of the inbox, never answered, purged later."""
    _move(conversation, "discard", State.SPAM, now=now)
    conversation.urgent = False


def reopen_by_staff(session: Session, conversation: Conversation, *, now: datetime) -> None:
    """Staff put a closed or spam conversation back into review. Messages the spam filter caught
    in it are legitimate after all: they become accepted, and so are drafted."""
    _move(conversation, "reopen", State.REVIEW, now=now)
    conversation.closed_at = None
    session.execute(
        sa.update(Message)
        .where(col(Message.conversation_id) == conversation.id)
        .where(col(Message.status) == MessageStatus.SPAM)
        .values(status=MessageStatus.ACCEPTED, drafted_at=None)
    )


def assign(conversation: Conversation, *, assignee_id: int | None, now: datetime) -> bool:
    """Give the conversation an owner (None: unassigned); False when it already had that one."""
    if conversation.assignee_id == assignee_id:
        return False
    conversation.assignee_id = assignee_id
    conversation.updated_at = now
    return True


def set_kind(
    conversation: Conversation, kind: ConversationKind, *, by_staff: bool, now: datetime
) -> bool:
    """What the conversation is about. Triage's suggestion never replaces staff's choice;
    returns whether the kind changed."""
    if not by_staff and conversation.kind_by_staff:
        return False
    changed = conversation.kind != kind
    conversation.kind = kind
    conversation.kind_by_staff = conversation.kind_by_staff or by_staff
    if changed:
        conversation.updated_at = now
    return changed


def reminded(conversation: Conversation, *, now: datetime) -> None:
    """Staff were alerted again about this unopened urgent conversation."""
    conversation.reminded_at = now


def escalated(conversation: Conversation, *, now: datetime) -> None:
    """The unopened urgent conversation was escalated to the second address."""
    conversation.escalated_at = now


_table = Conversation.__table__  # type: ignore[attr-defined]
_when = sa.bindparam("b_at", type_=UTCDateTime())
# plain comparisons, not IN: an IN list is an "expanding" parameter, which executemany refuses
_held = (_table.c.id == sa.bindparam("b_id")) & sa.or_(
    _table.c.state == State.QUEUED, _table.c.state == State.FAILED
)
# A conversation that moved on meanwhile (the patient wrote again, staff closed it) stays as it is.
_sent = (
    sa.update(_table)
    .where(_held)
    .values(
        state=State.SENT,
        updated_at=_when,
        first_reply_at=sa.func.coalesce(_table.c.first_reply_at, _when),
    )
)
_failed = sa.update(_table).where(_held).values(state=State.FAILED, updated_at=_when)


def replies_sent(session: Session, sent: Sequence[tuple[int, datetime]]) -> None:
    """Replies (conversation id, when) were accepted by the relay: their conversations are sent
    (one statement for the whole batch)."""
    if sent:
        session.connection().execute(_sent, [{"b_id": id_, "b_at": at} for id_, at in sent])


def replies_failed(session: Session, failed: Sequence[tuple[int, datetime]]) -> None:
    """Replies (conversation id, when) failed for good: their conversations are failed."""
    if failed:
        session.connection().execute(_failed, [{"b_id": id_, "b_at": at} for id_, at in failed])
