"""The table of presence: who has a conversation open, and whether they are editing its reply."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime, utcnow


class Activity:
    VIEWING = "viewing"
    EDITING = "editing"
    LEFT = "left"  # kept for a while, so that a late report of the page that left is ignored


class Presence(SQLModel, table=True):
    """One staff member on one conversation page, as that page last reported (posted by the
    page every few seconds; a GET never writes it)."""

    __table_args__ = (sa.UniqueConstraint("conversation_id", "staff_id"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    staff_id: int = Field(foreign_key="staff_user.id")
    activity: str = Field(max_length=16)  # an Activity
    # the page loads that said they left, space-separated, most recent last
    left_pages: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
