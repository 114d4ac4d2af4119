"""Tables of drafting: the reply draft of a conversation, staff's internal notes, and staff's
final triage decisions on it (labels)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.conversations.models import Urgency
from inbox.db import UTCDateTime, utcnow


class Draft(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", unique=True)
    message_id: int = Field(foreign_key="message.id")  # the message being answered
    suggested: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)  # matcher output
    section_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)  # chosen sections
    urgent: bool = False  # the reply opens with emergency guidance
    urgency: str = Field(default=Urgency.ROUTINE, max_length=16)  # the tier triage proposed
    urgency_reasons: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_type=sa.Text)
    html_body: str = Field(sa_type=sa.Text)
    # the body as staff edit it: paragraphs in Markdown, unwrapped (inbox.mails.markup); the two
    # parts above are built from it. None for a draft made before bodies were kept.
    body: str | None = Field(default=None, sa_type=sa.Text)
    edited: bool = False  # staff changed the text by hand
    version: int = 1  # optimistic locking
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id")

    @property
    def editable_body(self) -> str:
        """What the text box shows: the body, or for an old draft its text part."""
        return self.body if self.body is not None else self.text_body


class Note(SQLModel, table=True):
    """An internal note on a conversation; never sent to the patient."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Decision(StrEnum):
    APPROVED = "approved"  # a reply was approved
    CLOSED = "closed"  # the conversation was closed


class TriageLabel(SQLModel, table=True):
    """One final staff decision on one message: what triage suggested and what staff kept.

    A row is written at approval and at close and never changed afterwards; the newest row of a
    message is its label for training (`inbox triage train --include-staff-labels`)."""

    __tablename__ = "triage_label"
    __table_args__ = (sa.Index("ix_triage_label_message", "message_id", "decided_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id")
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    decision: str = Field(max_length=16)  # a Decision
    suggested_section_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    section_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    suggested_urgency: str = Field(max_length=16)  # an Urgency, as triage set it
    urgency: str = Field(max_length=16)  # an Urgency, as staff left it
    decided_by_id: int = Field(foreign_key="staff_user.id")
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
