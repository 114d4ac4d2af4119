"""Tables of inbound mail: every mail taken in (raw bytes first), and where IMAP polling stands."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class InboundState(StrEnum):
    RECEIVED = "received"  # stored, waiting for the worker
    PROCESSED = "processed"
    FAILED = "failed"  # processing raised: the error is kept, staff may retry


class InboundKind(StrEnum):
    PERSON = "person"  # a person's mail: it joins (or opens) a conversation
    AUTOMATIC = "automatic"  # out-of-office and other automatic replies: shown, nothing else
    BOUNCE = "bounce"  # a delivery report about a mail we sent


class BounceSeverity(StrEnum):
    HARD = "hard"  # the address does not take mail: suppressed
    SOFT = "soft"  # delayed or temporarily refused: noted only


class InboundSource(StrEnum):
    LMTP = "lmtp"
    SMTP = "smtp"
    PIPE = "pipe"
    IMAP = "imap"
    CATCHER = "catcher"  # the embedded mode's catcher, or `inbox mail reply`


class InboundMail(SQLModel, table=True):
    __tablename__ = "inbound_mail"
    __table_args__ = (
        sa.Index("ix_inbound_mail_queue", "state", "id"),
        sa.Index("ix_inbound_mail_sender", "sender", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # the Message-ID header (or a digest of the bytes when there is none): a re-delivery of the
    # same mail (an MTA retrying after a lost 250, IMAP fetched twice) is dropped on this key
    message_id: str = Field(max_length=300, unique=True)
    raw: bytes | None = Field(default=None, sa_type=sa.LargeBinary)  # None once purged
    size: int = 0
    source: str = Field(max_length=16)  # InboundSource
    envelope_from: str = Field(default="", max_length=320)
    envelope_to: str = Field(default="", max_length=2000)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    state: str = Field(default=InboundState.RECEIVED, max_length=16)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=1000)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # what processing found
    kind: str | None = Field(default=None, max_length=16)  # InboundKind
    sender: str | None = Field(default=None, max_length=320)  # the From address, normalised
    sender_name: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=500)
    text: str | None = Field(default=None, sa_type=sa.Text)  # the whole text part
    new_text: str | None = Field(default=None, sa_type=sa.Text)  # without quotes and signature
    html: str | None = Field(default=None, sa_type=sa.Text)  # sanitised for staff pages
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    created_message_id: int | None = Field(default=None, foreign_key="message.id")
    matched_by: str | None = Field(default=None, max_length=24)  # how the conversation was found
    foreign_sender: bool = False  # not the conversation's contact: attached, flagged
    urgent: bool = False
    bounce_mail_id: int | None = Field(default=None, foreign_key="outbox_mail.id", index=True)
    bounce: str | None = Field(default=None, max_length=8)  # BounceSeverity
    bounce_text: str | None = Field(default=None, max_length=1000)


class ImapCursor(SQLModel, table=True):
    """How far one IMAP mailbox was read: UIDs are only comparable within one UIDVALIDITY."""

    __tablename__ = "imap_cursor"
    mailbox: str = Field(primary_key=True, max_length=400)  # user@host/folder
    uidvalidity: int = Field(sa_type=sa.BigInteger)
    last_uid: int = Field(sa_type=sa.BigInteger)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
