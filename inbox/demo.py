"""Demo data for `make run`: a staff login and a handful of patient messages, so that a newcomer
sees a working inbox at once. Only into an empty database, and only when INBOX_DEMO_SEED=true."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from inbox.conversations.models import Message
from inbox.intake.first_look import looks_urgent
from inbox.intake.service import Client, receive_submission
from inbox.intake.validation import Submission
from inbox.runtime import Runtime
from inbox.staff.service import create_staff, get_by_email

DEMO_EMAIL = "demo@inbox.example"
DEMO_PASSWORD = "demo-inbox-2026"
PAGE = "/dialysis/leg-cramps-at-end-of-dialysis.html"

DEMO_MESSAGES = (
    (
        "Ahmed Rahimi",
        "ahmed.r@example.com",
        "Pain in my chest now",
        "I am at home after dialysis and for the last twenty minutes I have had a tight pain in my "
        "chest and I am short of breath. Is this the cramps too?",
    ),
    (
        "Karim Haddad",
        "karim.h@example.com",
        "cramps at the end",
        "Every time near the end of my session my calf goes hard like a stone. I come in 4 kg over "
        "and they take it all off in 4 hours. Is this why?",
    ),
    (
        "Linda Morales",
        "lmorales58@example.net",
        "Mum's target weight",
        "Since the doctor lowered my mother's dry weight by two kilos "
        "she cramps in the last half hour "
        "and is dizzy when she stands up.",
    ),
    (
        "Tomasz W.",
        "tomasz.w@example.org",
        "dialysate",
        "My unit runs everyone at sodium 135 and I cramp a lot. Would a higher sodium bath help?",
    ),
    (
        "Sung-min Park",
        "smpark@example.org",
        "calcium low",
        "My last calcium was 7.8 and I cramp in almost every session. "
        "Is the low calcium the reason?",
    ),
    (
        "Peter Lindqvist",
        "p.lindqvist@example.com",
        "receipt",
        "I paid for my consultation on the 14th but never received a receipt. Could you send it?",
    ),
)


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str


def seed_demo(runtime: Runtime) -> DemoLogin:
    """Create the demo login (if missing) and demo messages (if there are none)."""
    now = runtime.clock.now()
    with Session(runtime.engine) as session:
        if get_by_email(session, email=DEMO_EMAIL) is None:
            create_staff(session, email=DEMO_EMAIL, password=DEMO_PASSWORD, admin=True, now=now)
        has_messages = session.execute(sa.select(sa.func.count()).select_from(Message)).scalar()
        session.commit()
    if not has_messages:
        _seed_messages(runtime, now=now)
    return DemoLogin(email=DEMO_EMAIL, password=DEMO_PASSWORD)


def _seed_messages(runtime: Runtime, *, now) -> None:
    settings = runtime.settings.model_copy(update={"rate_limit_ip": "0", "rate_limit_address": "0"})
    client = Client(ip=None, user_agent="demo seed", channel="demo")
    with runtime.engine.connect() as connection:
        for index, (name, email, subject, text) in enumerate(DEMO_MESSAGES):
            submission = Submission(
                name=name, email=email, subject=subject, message=text, page=PAGE
            )
            receive_submission(
                connection,
                submission=submission,
                client=client,
                settings=settings,
                now=now - timedelta(hours=3 * (len(DEMO_MESSAGES) - index)),
                urgent=looks_urgent(runtime.knowledge, submission.subject, submission.message),
            )
        connection.commit()
