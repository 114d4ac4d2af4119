"""Tables of the outbox: mails to send, every delivery attempt, and mails the catcher caught."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class MailKind:
    REPLY = "reply"
    ACKNOWLEDGEMENT = "acknowledgement"
    FOLLOW_UP = "follow_up"
    STAFF_ALERT = "staff_alert"
    DIGEST = "digest"


class MailState:
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker under a lease
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HELD = "held"  # over the hourly cap of automatic mail: waits for staff to release or cancel
    ALL = (QUEUED, SENDING, SENT, FAILED, CANCELLED, HELD)


class AttemptOutcome:
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


class OutboxMail(SQLModel, table=True):
    __tablename__ = "outbox_mail"
    __table_args__ = (sa.Index("ix_outbox_mail_due", "state", "send_after", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    recipient: str = Field(max_length=320)
    subject: str = Field(max_length=500)
    text_body: str = Field(sa_type=sa.Text)
    html_body: str = Field(sa_type=sa.Text)
    raw: bytes | None = Field(default=None, sa_type=sa.LargeBinary)  # built once, at enqueue
    message_id: str = Field(max_length=300, unique=True)
    in_reply_to: str | None = Field(default=None, max_length=300)
    references: str | None = Field(default=None, max_length=2000)
    automatic: bool = True  # Auto-Submitted: auto-generated
    state: str = Field(default=MailState.QUEUED, max_length=16)
    send_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    first_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # retry budget
    lease_owner: str | None = Field(default=None, max_length=100)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=1000)
    server_reply: str | None = Field(default=None, max_length=1000)


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"
    id: int | None = Field(default=None, primary_key=True)
    mail_id: int = Field(foreign_key="outbox_mail.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    worker: str = Field(max_length=100)
    outcome: str = Field(max_length=16)  # sent | retry | failed (AttemptOutcome)
    code: int | None = None
    text: str | None = Field(default=None, max_length=1000)
    duration_ms: float | None = None


class CaughtMail(SQLModel, table=True):
    """A mail received by the built-in catcher (the embedded default, no real relay)."""

    __tablename__ = "caught_mail"
    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    mail_from: str = Field(max_length=320)
    recipients: str = Field(max_length=2000)
    subject: str = Field(max_length=500)
    message_id: str | None = Field(default=None, max_length=300)
    raw: bytes = Field(sa_type=sa.LargeBinary)
