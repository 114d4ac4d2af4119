"""Test data for drafting and review: messages stored through the real intake path."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from inbox.config import Settings
from inbox.intake.service import Client, Receipt, receive_submission
from inbox.intake.validation import Submission

PAGE = "https://www.kidney-hospital.example/leg-cramps-end-of-dialysis.html"
CRAMPS = (
    "My husband gets terrible leg cramps near the end of every dialysis session. "
    "The nurses say they take 4 litres off him. Is the fluid removed too fast?"
)
URGENT = "I have crushing chest pain right now and I can't breathe properly since this morning."
UNRELATED = "Can you tell me the opening hours of the billing office? I need to pay an invoice."


def store_message(
    session: Session, *, settings: Settings, now: datetime, urgent: bool = False, **overrides: str
) -> Receipt:
    """Store one legitimate message through the intake service (the demo channel: no time trap)."""
    fields = {
        "name": "Karim Haddad",
        "email": "karim.h@example.com",
        "subject": "cramps at the end",
        "message": CRAMPS,
        "page": PAGE,
    }
    fields.update(overrides)
    submission = Submission(
        name=fields["name"],
        email=fields["email"],
        subject=fields["subject"],
        message=fields["message"],
        page=fields["page"],
    )
    return receive_submission(
        session.connection(),
        submission=submission,
        client=Client(ip=None, user_agent=None, channel="demo"),
        settings=settings,
        now=now,
        urgent=urgent,
    )
