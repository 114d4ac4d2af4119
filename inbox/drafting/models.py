"""Tables of drafting: the reply draft of a conversation, and staff's internal notes."""

from __future__ import annotations

from datetime import datetime
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
    edited: bool = False  # staff changed the text by hand
    version: int = 1  # optimistic locking
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="staff_user.id")


class Note(SQLModel, table=True):
    """An internal note on a conversation; never sent to the patient."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
