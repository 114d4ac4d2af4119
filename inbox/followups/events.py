"""Reactions to mails' final delivery outcomes (called from `inbox.outbox.events`).

- A reply was sent: a *plan* row (sequence 0, due at once) is written in the same transaction;
  the worker's follow-up job turns it into the follow-ups of INBOX_FOLLOWUP_DELAYS, counted
  from the time the reply was sent. (The delivery outcome is recorded where no settings are at
  hand; the plan row keeps the hand-over durable and claimable like any follow-up.)
- A mail to a patient failed for good: the address is suppressed (reason "bounced") and its
  pending follow-ups cancelled; a later mail to it that does get through lifts the bounce entry.
  A mail that could not even be built (raw is None) says nothing about the address.

This runs inside the worker's batch transaction for every mail it sends, so a batch costs a
fixed number of statements (executemany), whatever its size; only failures go one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session

from inbox.db import UTCDateTime
from inbox.followups.models import (
    PLAN_SEQUENCE,
    FollowUp,
    FollowUpState,
    Suppression,
    SuppressionReason,
)
from inbox.followups.service import normalise_address, suppress
from inbox.outbox.models import AttemptOutcome, MailKind

PATIENT_KINDS = (MailKind.REPLY, MailKind.ACKNOWLEDGEMENT, MailKind.FOLLOW_UP)
_follow_up = FollowUp.__table__  # type: ignore[attr-defined]
_suppression = Suppression.__table__  # type: ignore[attr-defined]
_when = sa.bindparam("b_at", type_=UTCDateTime())
_plan = sa.insert(_follow_up).values(
    conversation_id=sa.bindparam("b_conversation"),
    recipient=sa.bindparam("b_recipient"),
    sequence=PLAN_SEQUENCE,
    due_at=_when,
    state=FollowUpState.SCHEDULED,
    created_at=_when,
    updated_at=_when,
)


class Outcome(Protocol):
    """One mail's final outcome (`inbox.outbox.events.Delivery` fits)."""

    @property
    def mail(self) -> Any: ...
    @property
    def outcome(self) -> str: ...
    @property
    def at(self) -> datetime: ...


def on_deliveries(session: Session, deliveries: Sequence[Outcome]) -> None:
    """React to a batch of final outcomes, in the transaction that records them."""
    sent = [
        d for d in deliveries if d.mail.kind in PATIENT_KINDS and d.outcome == AttemptOutcome.SENT
    ]
    connection = session.connection()
    addresses = sorted({normalise_address(d.mail.recipient) for d in sent})
    for start in range(0, len(addresses), 500):  # one statement per batch (SQLite's bind limit)
        connection.execute(
            sa.delete(_suppression)
            .where(_suppression.c.email.in_(addresses[start : start + 500]))
            .where(_suppression.c.reason == SuppressionReason.BOUNCED)
        )
    plans = [
        {"b_conversation": d.mail.conversation_id, "b_recipient": address, "b_at": d.at}
        for d in sent
        if d.mail.kind == MailKind.REPLY and d.mail.conversation_id is not None
        for address in (normalise_address(d.mail.recipient),)
    ]
    if plans:
        connection.execute(_plan, plans)
    for delivery in deliveries:
        mail = delivery.mail
        failed = delivery.outcome == AttemptOutcome.FAILED and mail.kind in PATIENT_KINDS
        if failed and getattr(mail, "raw", b"") is not None:
            suppress(
                session, email=mail.recipient, reason=SuppressionReason.BOUNCED, now=delivery.at
            )


class _One:
    def __init__(self, mail: Any, outcome: str, at: datetime) -> None:
        self.mail, self.outcome, self.at = mail, outcome, at


def on_delivery(session: Session, *, mail: Any, outcome: str, now: datetime) -> None:
    """React to one mail's final outcome (see `on_deliveries`)."""
    on_deliveries(session, [_One(mail, outcome, now)])
