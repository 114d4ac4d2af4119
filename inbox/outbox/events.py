"""What the outbox announces once a mail's delivery is final: sent, or failed for good.

The outbox knows nothing of conversations or follow-ups. Whoever cares registers a
`DeliveryListener` with the worker (the wiring is in `inbox.worker`); the worker calls
`after_deliveries` once per recorded batch, in the transaction that records the outcomes, so a
listener's writes commit or roll back with them.

Keep a listener's work per batch, not per mail: it runs for every mail the worker sends, and the
worker's throughput is bounded by it (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from inbox.outbox.models import AttemptOutcome


class DeliveredMail(Protocol):
    """What is known of the mail: an OutboxMail, or the worker's lighter ClaimedMail."""

    @property
    def id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def conversation_id(self) -> int | None: ...
    @property
    def recipient(self) -> str: ...
    @property
    def raw(self) -> bytes | None: ...


@dataclass(frozen=True)
class Delivery:
    """One mail's final outcome (`AttemptOutcome.SENT` or `.FAILED`) and when it happened."""

    mail: DeliveredMail
    outcome: str
    at: datetime


class DeliveryListener(Protocol):
    """Reacts to a batch of final outcomes inside the transaction that records them."""

    def on_sent(self, session: Session, deliveries: Sequence[Delivery]) -> None: ...

    def on_failed(self, session: Session, deliveries: Sequence[Delivery]) -> None: ...


def after_deliveries(
    session: Session, deliveries: Sequence[Delivery], listeners: Sequence[DeliveryListener]
) -> None:
    """Tell every listener, in order, which mails of the batch were sent and which failed."""
    sent = [delivery for delivery in deliveries if delivery.outcome == AttemptOutcome.SENT]
    failed = [delivery for delivery in deliveries if delivery.outcome == AttemptOutcome.FAILED]
    for listener in listeners:
        if sent:
            listener.on_sent(session, sent)
        if failed:
            listener.on_failed(session, failed)
