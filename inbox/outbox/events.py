"""What happens elsewhere once a mail's delivery is final (sent, or failed for good).

`after_delivery` runs in the same transaction that records the outcome, once per mail. It is the
place for other domains' reactions: today a reply moves its conversation from `queued` to `sent`
or `failed`; the follow-ups work adds "schedule follow-ups after a reply is sent" and "suppress
the address after a permanent failure" here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session

from inbox.db import UTCDateTime
from inbox.followups.events import on_delivery as followups_on_delivery
from inbox.intake.models import Conversation, ConversationState
from inbox.outbox.models import AttemptOutcome, MailKind

_conversation = Conversation.__table__  # type: ignore[attr-defined]


class DeliveredMail(Protocol):
    """What is known of the mail: an OutboxMail, or the worker's lighter ClaimedMail."""

    id: int | None
    kind: str
    conversation_id: int | None
    recipient: str


def after_delivery(session: Session, *, mail: DeliveredMail, outcome: str, now: datetime) -> None:
    """React to a final outcome (`AttemptOutcome.SENT` or `.FAILED`) of one mail."""
    if mail.kind == MailKind.REPLY and mail.conversation_id is not None:
        _update_conversation(session, mail.conversation_id, outcome, now)
    followups_on_delivery(session, mail=mail, outcome=outcome, now=now)  # follow-ups, suppression


def _update_conversation(
    session: Session, conversation_id: int, outcome: str, now: datetime
) -> None:
    """A queued reply's conversation becomes sent (first_reply_at set once) or failed. A
    conversation that has moved on meanwhile (the patient wrote again, staff closed it) is left."""
    sent = outcome == AttemptOutcome.SENT
    values: dict[str, object] = {
        "state": ConversationState.SENT if sent else ConversationState.FAILED,
        "updated_at": now,
    }
    if sent:
        values["first_reply_at"] = sa.func.coalesce(
            _conversation.c.first_reply_at, sa.literal(now, UTCDateTime())
        )
    session.execute(
        sa.update(_conversation)
        .where(_conversation.c.id == conversation_id)
        .where(_conversation.c.state.in_([ConversationState.QUEUED, ConversationState.FAILED]))
        .values(**values)
    )
