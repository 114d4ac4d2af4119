"""Reactions to a mail's final delivery outcome (called from `inbox.outbox.events.after_delivery`).

- A reply was sent: a *plan* row (sequence 0, due at once) is written in the same transaction;
  the worker's follow-up job turns it into the follow-ups of INBOX_FOLLOWUP_DELAYS, counted
  from the time the reply was sent. (The delivery outcome is recorded where no settings are at
  hand; the plan row keeps the hand-over durable and claimable like any follow-up.)
- A mail to a patient failed for good: the address is suppressed (reason "bounced") and its
  pending follow-ups cancelled; a later mail to it that does get through lifts the bounce entry.
  A mail that could not even be built (raw is None) says nothing about the address.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from inbox.followups.models import PLAN_SEQUENCE, FollowUp, SuppressionReason
from inbox.followups.service import lift_bounce, normalise_address, suppress
from inbox.outbox.models import AttemptOutcome, MailKind

PATIENT_KINDS = (MailKind.REPLY, MailKind.ACKNOWLEDGEMENT, MailKind.FOLLOW_UP)


def on_delivery(session: Session, *, mail: Any, outcome: str, now: datetime) -> None:
    """React to one mail's final outcome, in the transaction that records it."""
    if mail.kind not in PATIENT_KINDS:
        return  # staff alerts and digests go to staff, not to a patient's address
    if outcome == AttemptOutcome.SENT:
        lift_bounce(session, email=mail.recipient)
        if mail.kind == MailKind.REPLY and mail.conversation_id is not None:
            session.add(
                FollowUp(
                    conversation_id=mail.conversation_id,
                    recipient=normalise_address(mail.recipient),
                    sequence=PLAN_SEQUENCE,
                    due_at=now,
                    created_at=now,
                    updated_at=now,
                )  # fmt: skip
            )
            session.flush()
    elif outcome == AttemptOutcome.FAILED and getattr(mail, "raw", b"") is not None:
        suppress(session, email=mail.recipient, reason=SuppressionReason.BOUNCED, now=now)
