"""Tables of conversations: who wrote (contact), the thread (conversation), each message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class ConversationState(StrEnum):
    """Where a conversation stands; only `inbox.conversations.lifecycle` changes it."""

    REVIEW = "review"  # needs a reply drafted/approved by staff
    QUEUED = "queued"  # reply approved, in the outbox
    SENT = "sent"  # reply accepted by the SMTP relay
    FAILED = "failed"  # reply failed permanently; staff may re-queue
    CLOSED = "closed"
    SPAM = "spam"


class MessageStatus(StrEnum):
    ACCEPTED = "accepted"
    SPAM = "spam"
    DUPLICATE = "duplicate"  # folded into an identical earlier submission


class MessageChannel(StrEnum):
    FORM = "form"
    API = "api"
    DEMO = "demo"
    EMAIL = "email"  # a patient's e-mail, taken in by inbox.inbound


class Urgency(StrEnum):
    """How soon staff must look at a message: set by triage, corrected by staff
    (`inbox.conversations.urgency` writes it)."""

    ROUTINE = "routine"
    POSSIBLE = "possible"  # a possible emergency, or a language the engine cannot read: check now
    URGENT = "urgent"  # emergency signs

    @property
    def rank(self) -> int:
        """Routine 0, possible 1, urgent 2: an override "up" raises it."""
        return list(Urgency).index(self)


class ConversationKind(StrEnum):
    """What a conversation is about; only clinical questions get article sections and the
    clinical follow-up ("has the problem eased…")."""

    CLINICAL = "clinical"
    APPOINTMENT = "appointment"
    BILLING = "billing"
    THANKS = "thanks"
    OTHER = "other"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    ConversationKind.CLINICAL: "Clinical question",
    ConversationKind.APPOINTMENT: "Appointment",
    ConversationKind.BILLING: "Billing",
    ConversationKind.THANKS: "Thanks",
    ConversationKind.OTHER: "Other",
}


# the intake path inserts rows by SQL that names neither column: the database fills them in
_ROUTINE = {"server_default": Urgency.ROUTINE.value}
_NO = {"server_default": sa.false()}
_CLINICAL = {"server_default": ConversationKind.CLINICAL.value}


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # normalised
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Conversation(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_conversation_queue", "state", "urgent", "last_message_at", "id"),
        sa.Index("ix_conversation_recent", "last_message_at", "id"),
        # "Mine" (assignee = me) and "Unassigned" (assignee IS NULL) in the queue's order
        sa.Index(
            "ix_conversation_owner", "assignee_id", "state", "urgent", "last_message_at", "id"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    subject: str = Field(max_length=300)
    state: str = Field(default=ConversationState.REVIEW, max_length=16)
    urgent: bool = False  # at the top of the inbox: urgent or "check now" (see `urgency`)
    # triage's tier, or staff's correction of it
    urgency: str = Field(default=Urgency.ROUTINE, max_length=16, sa_column_kwargs=_ROUTINE)
    language: str | None = Field(default=None, max_length=8)  # of the newest triaged message
    # the newest message is in a language the engine cannot read
    needs_reader: bool = Field(default=False, sa_column_kwargs=_NO)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_message_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    first_reply_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # who works on it (None: unassigned); only `inbox.conversations.lifecycle` changes it
    assignee_id: int | None = Field(default=None, foreign_key="staff_user.id")
    # what it is about (ConversationKind): triage's suggestion until staff choose one
    kind: str = Field(default=ConversationKind.CLINICAL, max_length=16, sa_column_kwargs=_CLINICAL)
    kind_by_staff: bool = Field(default=False, sa_column_kwargs=_NO)
    # an urgent conversation nobody opened: when staff were reminded, and when it was escalated
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConversationTag(SQLModel, table=True):
    """A staff label on a conversation ("dietitian", "interpreter"), for filtering the list."""

    __tablename__ = "conversation_tag"
    __table_args__ = (sa.Index("ix_conversation_tag_tag", "tag", "conversation_id"),)

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    tag: str = Field(max_length=40, primary_key=True)


class Message(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_message_fingerprint", "fingerprint", "received_at"),
        # the drafting queue: only the few messages still waiting for a draft
        sa.Index(
            "ix_message_draft_pending",
            "id",
            sqlite_where=sa.text("drafted_at IS NULL"),
            postgresql_where=sa.text("drafted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=sa.Text)
    source_page: str | None = Field(default=None, max_length=2000)
    channel: str = Field(default=MessageChannel.FORM, max_length=8)  # MessageChannel
    client_ip: str | None = Field(default=None, max_length=128)  # keyed hash by default
    user_agent: str | None = Field(default=None, max_length=500)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    status: str = Field(default=MessageStatus.ACCEPTED, max_length=16)
    spam_reason: str | None = Field(default=None, max_length=100)
    duplicate_of_id: int | None = Field(default=None, foreign_key="message.id")
    duplicate_count: int = 0
    fingerprint: str = Field(max_length=64)
    urgent: bool = False  # first look at intake; the drafting triage has the final word
    # the tier triage gave this message; staff's corrections go to the conversation
    urgency: str = Field(default=Urgency.ROUTINE, max_length=16, sa_column_kwargs=_ROUTINE)
    language: str | None = Field(default=None, max_length=8)  # ISO 639-1, "und": not determined
    # mostly in a language the engine cannot read
    needs_reader: bool = Field(default=False, sa_column_kwargs=_NO)
    drafted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: draft pending
    # given on the form (optional), with the patient's consent to be phoned about this message
    phone: str | None = Field(default=None, max_length=40)


class CallOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no-answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong-number"

    @property
    def label(self) -> str:
        return {
            CallOutcome.REACHED: "Spoke to the patient",
            CallOutcome.NO_ANSWER: "No answer",
            CallOutcome.VOICEMAIL: "Left a voicemail",
            CallOutcome.WRONG_NUMBER: "Wrong number",
        }[self]


class PhoneCall(SQLModel, table=True):
    """Staff phoned the patient: when, who, and how it went (the call log of a conversation)."""

    __tablename__ = "phone_call"

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    at: datetime = Field(sa_type=UTCDateTime)
    outcome: str = Field(max_length=16)  # CallOutcome
    note: str | None = Field(default=None, max_length=1000)
