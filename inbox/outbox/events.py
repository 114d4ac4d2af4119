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

from sqlmodel import Session

from inbox.conversations import lifecycle
from inbox.followups.events import on_deliveries as followups_on_deliveries
from inbox.outbox.models import AttemptOutcome, MailKind


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


def _update_conversations(session: Session, deliveries: Sequence[Delivery]) -> None:
    rows: dict[str, list[tuple[int, datetime]]] = {
        AttemptOutcome.SENT: [],
        AttemptOutcome.FAILED: [],
    }
    for delivery in deliveries:
        mail = delivery.mail
        if mail.kind == MailKind.REPLY and mail.conversation_id is not None:
            rows[delivery.outcome].append((mail.conversation_id, delivery.at))
    lifecycle.replies_sent(session, rows[AttemptOutcome.SENT])
    lifecycle.replies_failed(session, rows[AttemptOutcome.FAILED])
