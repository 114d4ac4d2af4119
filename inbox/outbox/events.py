"""What happens elsewhere once a mail's delivery is final (sent, or failed for good).

`after_deliveries` (the worker, once per recorded batch) and `after_delivery` (one mail) run in
the transaction that records the outcome. They are the place for other domains' reactions: a
reply moves its conversation from `queued` to `sent` or `failed` (one statement per batch), and
the follow-ups domain schedules follow-ups after a sent reply and suppresses an address after a
permanent failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import Conversation, ConversationState
from inbox.db import UTCDateTime
from inbox.followups.events import on_deliveries as followups_on_deliveries
from inbox.outbox.models import AttemptOutcome, MailKind

_conversation = Conversation.__table__  # type: ignore[attr-defined]


class DeliveredMail(Protocol):
    """What is known of the mail: an OutboxMail, or the worker's lighter ClaimedMail."""

    id: int | None
    kind: str
    conversation_id: int | None
    recipient: str


@dataclass(frozen=True)
class Delivery:
    """One mail's final outcome (`AttemptOutcome.SENT` or `.FAILED`) and when it happened."""

    mail: DeliveredMail
    outcome: str
    at: datetime


def after_delivery(session: Session, *, mail: DeliveredMail, outcome: str, now: datetime) -> None:
    """React to a final outcome (`AttemptOutcome.SENT` or `.FAILED`) of one mail."""
    after_deliveries(session, [Delivery(mail, outcome, now)])


def after_deliveries(session: Session, deliveries: Sequence[Delivery]) -> None:
    """React to the final outcomes of a batch of mails (the worker records in batches).

    Keep the work per mail small: this runs for every mail the worker sends, inside the batch's
    transaction, and the worker's throughput is bounded by it (one statement per batch costs
    ~2 ms on SQLite; one ORM object plus a flush per mail costs ~5 ms per MAIL)."""
    _update_conversations(session, deliveries)
    followups_on_deliveries(session, deliveries)  # follow-ups, suppression: batched statements


_held_conversation = (_conversation.c.id == sa.bindparam("b_id")) & (  # no IN: executemany
    (_conversation.c.state == ConversationState.QUEUED)
    | (_conversation.c.state == ConversationState.FAILED)
)
_when = sa.bindparam("b_at", type_=UTCDateTime())
# A queued reply's conversation becomes sent (first_reply_at set once) or failed. A conversation
# that has moved on meanwhile (the patient wrote again, staff closed it) is left as it is.
_conversation_sent = (
    sa.update(_conversation)
    .where(_held_conversation)
    .values(
        state=ConversationState.SENT,
        updated_at=_when,
        first_reply_at=sa.func.coalesce(_conversation.c.first_reply_at, _when),
    )
)
_conversation_failed = (
    sa.update(_conversation)
    .where(_held_conversation)
    .values(state=ConversationState.FAILED, updated_at=_when)
)


def _update_conversations(session: Session, deliveries: Sequence[Delivery]) -> None:
    rows: dict[str, list[dict[str, object]]] = {AttemptOutcome.SENT: [], AttemptOutcome.FAILED: []}
    for delivery in deliveries:
        mail = delivery.mail
        if mail.kind == MailKind.REPLY and mail.conversation_id is not None:
            rows[delivery.outcome].append({"b_id": mail.conversation_id, "b_at": delivery.at})
    connection = session.connection()
    for statement, params in (
        (_conversation_sent, rows[AttemptOutcome.SENT]),
        (_conversation_failed, rows[AttemptOutcome.FAILED]),
    ):
        if params:
            connection.execute(statement, params)
