"""The call log of a conversation: staff phoned the patient, with the outcome. (The number the
patient gave on the form, with their consent to be phoned, is `ConversationView.phone`.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from inbox.conversations import lifecycle
from inbox.conversations.models import CallOutcome, PhoneCall
from inbox.drafting.edits import audit_conversation as _audit
from inbox.errors import InvalidInput
from inbox.staff.models import StaffUser

MAX_CALL_NOTE = 1000


@dataclass(frozen=True)
class CallView:
    call: PhoneCall
    outcome: str  # the outcome's label
    by: str  # the staff member's e-mail address


def calls_of(session: Session, *, conversation_id: int) -> list[CallView]:
    """The calls logged on the conversation, oldest first."""
    found = session.exec(
        select(PhoneCall, StaffUser.email)
        .join(StaffUser, col(StaffUser.id) == col(PhoneCall.staff_id), isouter=True)
        .where(PhoneCall.conversation_id == conversation_id)
        .order_by(col(PhoneCall.at), col(PhoneCall.id))
    ).all()
    return [
        CallView(call=call, outcome=CallOutcome(call.outcome).label, by=email or "staff")
        for call, email in found
    ]


def record_call(
    session: Session,
    *,
    conversation_id: int,
    outcome: str,
    note: str,
    staff: StaffUser,
    now: datetime,
) -> PhoneCall:
    """Log that `staff` phoned the patient and how it went (an optional short note)."""
    try:
        chosen = CallOutcome(outcome)
    except ValueError as exc:
        raise InvalidInput({"outcome": "Please choose how the call went."}) from exc
    note = note.replace("\r\n", "\n").strip()
    if len(note) > MAX_CALL_NOTE:
        raise InvalidInput({"call_note": f"Please keep the note under {MAX_CALL_NOTE} characters."})
    lifecycle.locked(session, conversation_id=conversation_id)
    call = PhoneCall(
        conversation_id=conversation_id, staff_id=staff.id, at=now, outcome=chosen.value,
        note=note or None,
    )  # fmt: skip
    session.add(call)
    _audit(
        session, staff=staff, action="call", conversation_id=conversation_id, now=now,
        detail=chosen.value,
    )  # fmt: skip
    session.flush()
    return call
