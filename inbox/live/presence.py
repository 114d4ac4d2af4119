"""Presence: "Anna is viewing / editing" on a conversation page. Each page posts what its staff
member is doing every few seconds; a row silent for `presence_seconds` no longer counts. Rows
live in the database, so every web process sees every other's staff. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from inbox.errors import InvalidInput
from inbox.live.models import Activity, Presence
from inbox.staff.models import StaffUser

ACTIVITIES = (Activity.VIEWING, Activity.EDITING)
FORGET_AFTER = timedelta(hours=1)  # rows older than this are removed by the next report
# page ids that left are kept up to about this many characters (some 20 page loads); a late
# report arrives within seconds, so only the latest ones matter
LEFT_PAGES_KEPT = 400


@dataclass(frozen=True)
class Seen:
    staff_id: int
    who: str  # the staff member's e-mail address
    activity: str

    @property
    def sentence(self) -> str:
        doing = "is editing the reply" if self.activity == Activity.EDITING else "is viewing"
        return f"{self.who} {doing}"


def report_presence(
    session: Session, *, conversation_id: int, staff: StaffUser, activity: str, now: datetime,
    page: str = "",
) -> None:  # fmt: skip
    """Record what `staff` is doing on the conversation's page now ("left": nothing any more).
    `page` names the page load that reports: once a page has said it left, a report of that
    page that was overtaken on the way (sent before the beacon, arriving after) is ignored,
    also after the person moved on to another page load; a page that never left still
    counts."""
    assert staff.id is not None
    if activity not in (*ACTIVITIES, Activity.LEFT):
        raise InvalidInput({"activity": "Unknown activity."})
    page = "".join(page.split())  # ids are kept space-separated
    session.execute(sa.delete(Presence).where(col(Presence.seen_at) < now - FORGET_AFTER))
    left = activity == Activity.LEFT
    values = {
        "conversation_id": conversation_id, "staff_id": staff.id, "activity": activity,
        "seen_at": now, "left_pages": page if left else "",
    }  # fmt: skip
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Presence).values(**values)
    kept = col(Presence.left_pages)
    update: dict[str, object] = {"activity": activity, "seen_at": now}
    if left and page:
        update["left_pages"] = sa.case(
            (sa.func.length(kept) > LEFT_PAGES_KEPT, page), else_=kept + " " + page
        )
    overtaken = (sa.literal(" ") + kept + " ").contains(f" {page} ", autoescape=True)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["conversation_id", "staff_id"],
            set_=update,
            where=None if left or not page else ~overtaken,
        )
    )


def present(session: Session, *, conversation_id: int, now: datetime, window: float) -> list[Seen]:
    """Who is on the conversation's page now, by e-mail address."""
    rows = session.execute(
        select(col(Presence.staff_id), col(StaffUser.email), col(Presence.activity))
        .join(StaffUser, col(StaffUser.id) == col(Presence.staff_id))
        .where(
            col(Presence.conversation_id) == conversation_id,
            col(Presence.seen_at) >= now - timedelta(seconds=window),
            col(Presence.activity) != Activity.LEFT,
        )
        .order_by(col(StaffUser.email))
    ).all()
    return [Seen(staff_id, who, activity) for staff_id, who, activity in rows]
