"""Tables of follow-ups: scheduled check-in mails, the suppression list, and daily job runs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class FollowUpState:
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"  # a worker holds it under a lease
    SENT = "sent"  # handed to the outbox (outbox_mail_id)
    CANCELLED = "cancelled"
    PENDING = (SCHEDULED, CLAIMED)


class SuppressionReason:
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # a mail to the address failed permanently


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    __table_args__ = (
        sa.Index("ix_follow_up_due", "state", "due_at", "id"),
        sa.Index("ix_follow_up_recipient", "recipient"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    recipient: str = Field(max_length=320)  # the normalised address
    sequence: int = 1  # 1 for the first delay of INBOX_FOLLOWUP_DELAYS, 2 for the second, …
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default=FollowUpState.SCHEDULED, max_length=16)
    cancel_reason: str | None = Field(default=None, max_length=100)
    outbox_mail_id: int | None = Field(default=None, foreign_key="outbox_mail.id")
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Suppression(SQLModel, table=True):
    """An address that gets no automatic mail (unsubscribed, or bounced permanently)."""

    email: str = Field(primary_key=True, max_length=320)
    reason: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UnsubscribeToken(SQLModel, table=True):
    """The opaque token in an address's unsubscribe links: random, so a link says nothing of
    the address it stops; one per address, made when its first automatic mail is queued."""

    __tablename__ = "unsubscribe_token"
    token: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DailyRun(SQLModel, table=True):
    """When a once-a-day job (purge, digest) is next due; workers claim a run with one UPDATE."""

    __tablename__ = "daily_run"

    name: str = Field(primary_key=True, max_length=40)
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_result: str | None = Field(default=None, max_length=500)
