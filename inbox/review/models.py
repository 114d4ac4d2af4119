"""Tables of the staff inbox itself: a staff member's search, kept on the server.

What staff search for (a patient's name, an address) is health-adjacent data: it stays out of
URLs, browser history, `next=` links and access logs. A search is posted, kept here under a
random id for its owner only, and the list links carry that id.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from inbox.db import UTCDateTime


class StaffSearch(SQLModel, table=True):
    __tablename__ = "staff_search"

    id: str = Field(primary_key=True, max_length=32)  # random, unguessable
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    query: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
