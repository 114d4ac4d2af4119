"""The follow-ups' delivery listener (registered by `inbox.worker`, settings in hand).

- A reply was sent: the follow-ups of INBOX_FOLLOWUP_DELAYS are scheduled from the moment it was
  sent, replacing pending ones of an earlier reply; none when the conversation moved on meanwhile
  (the patient wrote again, staff closed it) or the address gets no automatic mail.
- A mail to a patient was sent: a bounce entry of its address is lifted.
- A mail to a patient failed for good: the address is suppressed (reason "bounced") and its
  pending follow-ups cancelled. A mail that could not even be built (raw is None) says nothing
  about the address.

This runs inside the worker's batch transaction for every mail it sends, so a batch costs a
fixed number of statements (executemany), whatever its size; only failures go one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations.models import Conversation, ConversationKind, ConversationState
from inbox.db import UTCDateTime
from inbox.followups.models import FollowUp, FollowUpState, Suppression, SuppressionReason
from inbox.followups.schedule import follow_up_times
from inbox.followups.service import cancel_for_conversations, normalise_address, suppress
from inbox.outbox.events import Delivery
from inbox.outbox.models import MailKind

PATIENT_KINDS = (MailKind.REPLY, MailKind.ACKNOWLEDGEMENT, MailKind.FOLLOW_UP)
CHUNK = 500  # values per IN list (SQLite's bound-parameter limit)
_follow_up = FollowUp.__table__  # type: ignore[attr-defined]
_suppression = Suppression.__table__  # type: ignore[attr-defined]
_conversation = Conversation.__table__  # type: ignore[attr-defined]
_when = sa.bindparam("b_at", type_=UTCDateTime())
_schedule = sa.insert(_follow_up).values(
    conversation_id=sa.bindparam("b_conversation"),
    recipient=sa.bindparam("b_recipient"),
    sequence=sa.bindparam("b_sequence"),
    due_at=sa.bindparam("b_due", type_=UTCDateTime()),
    state=FollowUpState.SCHEDULED,
    created_at=_when,
    updated_at=_when,
)

_lift_bounces = (
    sa.delete(_suppression)
    .where(_suppression.c.email.in_(sa.bindparam("addresses", expanding=True)))
    .where(_suppression.c.reason == SuppressionReason.BOUNCED)
)
_suppressed = sa.select(_suppression.c.email).where(
    _suppression.c.email.in_(sa.bindparam("addresses", expanding=True))
)
_still_sent = (
    sa.select(_conversation.c.id)
    .where(_conversation.c.id.in_(sa.bindparam("ids", expanding=True)))
    .where(_conversation.c.state == ConversationState.SENT)
    # the follow-up asks whether the problem eased: clinical questions only
    .where(_conversation.c.kind == ConversationKind.CLINICAL)
)


def _chunks(values: Sequence[Any]) -> list[list[Any]]:
    ordered: list[Any] = sorted(set(values))
    return [ordered[start : start + CHUNK] for start in range(0, len(ordered), CHUNK)]


class FollowUpListener:
    """Schedules follow-ups after sent replies and keeps the suppression list up to date."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def on_sent(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        """Lift bounce entries of delivered addresses; schedule follow-ups after replies."""
        sent = [  # each address parsed once: a parse costs about as much as a row written
            (d, normalise_address(d.mail.recipient))
            for d in deliveries
            if d.mail.kind in PATIENT_KINDS
        ]
        connection = session.connection()
        for addresses in _chunks([address for _, address in sent]):
            connection.execute(_lift_bounces, {"addresses": addresses})
        replies = [
            (d, address)
            for d, address in sent
            if d.mail.kind == MailKind.REPLY and d.mail.conversation_id is not None
        ]
        if replies:
            self._schedule(session, replies)

    def on_failed(self, session: Session, deliveries: Sequence[Delivery]) -> None:
        """Suppress the address of a patient's mail that failed for good."""
        for delivery in deliveries:
            mail = delivery.mail
            if mail.kind in PATIENT_KINDS and mail.raw is not None:
                suppress(
                    session, email=mail.recipient, reason=SuppressionReason.BOUNCED, now=delivery.at
                )

    def _schedule(self, session: Session, replies: Sequence[tuple[Delivery, str]]) -> None:
        """`replies`: sent replies with their recipient's normalised address."""
        connection = session.connection()
        latest: dict[int, Delivery] = {}
        recipients: dict[int, str] = {}
        for delivery, address in replies:  # the later of two replies of one conversation
            assert delivery.mail.conversation_id is not None
            latest[delivery.mail.conversation_id] = delivery
            recipients[delivery.mail.conversation_id] = address
        cancel_for_conversations(
            session, conversation_ids=list(latest), reason="a newer reply",
            now=max(delivery.at for delivery, _ in replies),
        )  # fmt: skip
        still_sent: set[int] = set()
        for ids in _chunks(list(latest)):
            still_sent.update(connection.execute(_still_sent, {"ids": ids}).scalars())
        suppressed: set[str] = set()
        for addresses in _chunks(list(recipients.values())):
            suppressed.update(connection.execute(_suppressed, {"addresses": addresses}).scalars())
        rows = [
            {
                "b_conversation": conversation_id,
                "b_recipient": recipients[conversation_id],
                "b_sequence": number,
                "b_due": due_at,
                "b_at": delivery.at,
            }  # fmt: skip
            for conversation_id, delivery in sorted(latest.items())
            if conversation_id in still_sent and recipients[conversation_id] not in suppressed
            for number, due_at in enumerate(
                follow_up_times(delivery.at, settings=self.settings), start=1
            )
        ]
        if rows:
            connection.execute(_schedule, rows)
