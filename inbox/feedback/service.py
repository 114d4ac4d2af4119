"""Recording a patient's answer to "did this help?" and counting the answers per section.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from inbox.feedback.models import SectionFeedback

FEEDBACK = SectionFeedback.__table__  # type: ignore[attr-defined]


def record_answer(
    session: Session, *, message_id: int, section_id: str, helpful: bool, now: datetime
) -> None:
    """Store the answer; a later answer about the same section of the same reply replaces it
    (one statement, so two clicks at once cannot both insert)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {"message_id": message_id, "section_id": section_id, "helpful": helpful}
    statement = (
        insert(FEEDBACK)
        .values(**values, answered_at=now)
        .on_conflict_do_update(
            index_elements=["message_id", "section_id"],
            set_={"helpful": helpful, "answered_at": now},
        )
    )
    session.execute(statement)
    session.flush()


@dataclass(frozen=True)
class Tally:
    section_id: str
    helpful: int
    not_helpful: int

    @property
    def answers(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def helpful_share(self) -> float:
        return self.helpful / self.answers if self.answers else 0.0


def tally(session: Session, *, since: datetime) -> list[Tally]:
    """Answers per section given since `since`, the most answered first."""
    c = FEEDBACK.c
    helpful = sa.func.sum(sa.case((c.helpful == sa.true(), 1), else_=0))
    rows = session.execute(
        sa.select(c.section_id, helpful, sa.func.count())
        .where(c.answered_at >= since)
        .group_by(c.section_id)
        .order_by(sa.func.count().desc(), c.section_id)
    ).all()
    return [
        Tally(
            section_id=section_id, helpful=int(helpful or 0), not_helpful=count - int(helpful or 0)
        )
        for section_id, helpful, count in rows
    ]
