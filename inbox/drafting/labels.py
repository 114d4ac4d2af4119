"""Staff's final triage decisions: recorded at approval and close, read back for training and
for the dashboard's "how often staff kept the suggestion".

The suggestion is what triage proposed for the message being answered (the draft's suggested
sections and tier); the decision is what staff left (the draft's sections, the conversation's
tier). Nothing here leaves the database: training reads the rows on this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox.config import Settings
from inbox.conversations.models import Conversation, Message, Urgency
from inbox.db import create_db_engine
from inbox.drafting.models import Decision, Draft, TriageLabel
from inbox.knowledge.evaluation import LabelledMessage
from inbox.staff.models import StaffUser


def record_decision(
    session: Session,
    *,
    conversation: Conversation,
    decision: Decision,
    staff: StaffUser,
    now: datetime,
) -> TriageLabel | None:
    """Keep staff's final sections and tier for the message the draft answers (none without a
    draft: nothing was suggested)."""
    draft = session.exec(select(Draft).where(Draft.conversation_id == conversation.id)).first()
    if draft is None or staff.id is None or conversation.id is None:
        return None
    label = TriageLabel(
        message_id=draft.message_id,
        conversation_id=conversation.id,
        decision=decision,
        suggested_section_ids=[item["section_id"] for item in draft.suggested],
        section_ids=list(draft.section_ids),
        suggested_urgency=draft.urgency,
        urgency=conversation.urgency,
        decided_by_id=staff.id,
        decided_at=now,
    )
    session.add(label)
    session.flush()
    return label


def labelled_messages(session: Session) -> list[LabelledMessage]:
    """Every message staff decided on, with its newest decision, oldest message first. A
    possible emergency left as one counts as urgent, as `inbox eval` counts it."""
    newest = (
        sa.select(sa.func.max(col(TriageLabel.id)))
        .group_by(col(TriageLabel.message_id))
        .scalar_subquery()
    )
    rows = session.exec(
        select(TriageLabel, Message)
        .join(Message, col(Message.id) == col(TriageLabel.message_id))
        .where(col(TriageLabel.id).in_(newest))
        .order_by(col(TriageLabel.message_id))
    ).all()
    return [
        LabelledMessage(
            id=f"staff-{message.id}",
            subject=message.subject,
            text=message.body,
            sections=frozenset(label.section_ids),
            urgent=label.urgency != Urgency.ROUTINE,
            page=message.source_page,
        )
        for label, message in rows
    ]


def staff_labels(settings: Settings) -> list[LabelledMessage]:
    """`labelled_messages` from the configured database (for `inbox triage train`)."""
    engine = create_db_engine(settings.database_url, pooled=False)
    try:
        with Session(engine) as session:
            return labelled_messages(session)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Agreement:
    approvals: int  # replies approved in the period
    sections_kept: int  # of those, approved with exactly the suggested sections
    decisions: int  # messages decided on in the period (newest decision each)
    raised: int  # staff made it more urgent than triage said
    lowered: int  # staff made it less urgent

    @property
    def sections_kept_share(self) -> float | None:
        return self.sections_kept / self.approvals if self.approvals else None


def agreement(session: Session, *, since: datetime) -> Agreement:
    """How often staff kept triage's suggestion in decisions made since `since`."""
    rows = session.exec(
        select(TriageLabel)
        .where(col(TriageLabel.decided_at) >= since)
        .order_by(col(TriageLabel.id))
    ).all()
    approvals = [row for row in rows if row.decision == Decision.APPROVED]
    newest = {row.message_id: row for row in rows}  # ordered by id: the last one wins
    shifts = [
        Urgency(row.urgency).rank - Urgency(row.suggested_urgency).rank for row in newest.values()
    ]
    return Agreement(
        approvals=len(approvals),
        sections_kept=sum(
            1 for row in approvals if set(row.section_ids) == set(row.suggested_section_ids)
        ),
        decisions=len(newest),
        raised=sum(1 for shift in shifts if shift > 0),
        lowered=sum(1 for shift in shifts if shift < 0),
    )
