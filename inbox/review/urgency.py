"""Staff correct triage's urgency: mark a conversation urgent or not urgent, with a reason.

The tier changes through `inbox.conversations.urgency`; the reason becomes an internal note
(it may hold health details, so the audit entry names only the change). The final tier is
kept as a label when the reply is approved or the conversation closed (`review.labels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from inbox.conversations import lifecycle, urgency
from inbox.conversations.models import Conversation, Urgency
from inbox.drafting.edits import audit_conversation
from inbox.drafting.models import Note
from inbox.errors import InvalidInput
from inbox.staff.models import StaffUser

MAX_REASON = 1000
WORDING = {Urgency.URGENT: "urgent", Urgency.ROUTINE: "not urgent"}


def mark_urgency(
    session: Session,
    *,
    conversation_id: int,
    level: str,
    reason: str,
    staff: StaffUser,
    now: datetime,
) -> Note:
    """Put the conversation in `level` ("urgent" or "routine") because of `reason`; returns
    the note that tells colleagues why."""
    chosen = next((known for known in WORDING if known.value == level), None)
    if chosen is None:
        raise InvalidInput({"urgency": "Choose urgent or not urgent."})
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput({"reason": "Please say why, for your colleagues and for training."})
    if len(reason) > MAX_REASON:
        raise InvalidInput({"reason": f"Please keep the reason under {MAX_REASON} characters."})
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    before = urgency.urgency_of(conversation)
    urgency.set_urgency(conversation, chosen)
    conversation.updated_at = now
    note = Note(
        conversation_id=conversation_id,
        staff_id=staff.id,
        body=f"Marked {WORDING[chosen]}: {reason}",
        created_at=now,
    )
    session.add(note)
    audit_conversation(
        session,
        staff=staff,
        action="urgency",
        conversation_id=conversation_id,
        now=now,
        detail=f"{before.value} -> {chosen.value}",
    )
    session.flush()
    return note


def urgency_marks(conversation: Conversation) -> list[tuple[str, str, str]]:
    """The corrections staff can make now, as (value, button label, button style)."""
    marks = []
    if conversation.urgency != Urgency.URGENT:
        marks.append((Urgency.URGENT.value, "Mark urgent", "danger"))
    if conversation.urgent:
        marks.append((Urgency.ROUTINE.value, "Mark not urgent", "secondary"))
    return marks


@dataclass(frozen=True)
class Badge:
    kind: str  # "urgent", "reader" or "check": the CSS class and the test hook
    label: str


def badge(*, urgent: bool, urgency: str, needs_reader: bool) -> Badge | None:
    """What the list and the page say about a conversation's tier; None when routine."""
    if not urgent:
        return None
    if urgency == Urgency.URGENT:
        return Badge("urgent", "Urgent")
    if needs_reader:
        return Badge("reader", "Needs a reader: check now")
    return Badge("check", "Possible emergency: check now")
