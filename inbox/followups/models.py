"""Tables of follow-ups: scheduled check-in mails and the suppression list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class FollowUpState:
    SCHEDULED = "scheduled"
    CLAIMED = "claimed"
    SENT = "sent"  # handed to the outbox
    CANCELLED = "cancelled"


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    __table_args__ = (sa.Index("ix_follow_up_due", "state", "due_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    recipient: str = Field(max_length=320)
    sequence: int = 1
    due_at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(default=FollowUpState.SCHEDULED, max_length=16)
    cancel_reason: str | None = Field(default=None, max_length=100)
    outbox_mail_id: int | None = Field(default=None, foreign_key="outbox_mail.id")
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Suppression(SQLModel, table=True):
    """An address that gets no automatic mail (unsubscribed, or bounced permanently)."""

    email: str = Field(primary_key=True, max_length=320)
    reason: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
