"""The table of "did this help?": one patient's answer about one section of one reply."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class SectionFeedback(SQLModel, table=True):
    """Yes or no for one section of the reply to one message; a second answer replaces the first.

    It holds ids and the answer only, no foreign keys: when the retention purge or an erasure
    removes the message, the answer stays as an anonymous count for its section."""

    __tablename__ = "section_feedback"
    __table_args__ = (
        sa.UniqueConstraint("message_id", "section_id", name="uq_section_feedback_answer"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int  # the message the reply answered
    section_id: str = Field(max_length=100)
    helpful: bool
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
