"""The group-commit writer: many submissions share a transaction, one bad one sinks none."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from inbox.conversations.models import Message
from inbox.intake.service import Client
from inbox.intake.validation import Submission
from inbox.intake.writer import IntakeWriter


def submission(index: int, **overrides) -> Submission:
    fields = {
        "name": f"Patient {index}",
        "email": f"p{index}@example.com",
        "subject": "cramps",
        "message": f"question number {index}",
        "form_token": None,
    }
    fields.update(overrides)
    return Submission(**fields)


async def test_concurrent_submissions_are_each_stored_once(runtime):
    writer = IntakeWriter(runtime)
    client = Client(ip="10.0.0.1", user_agent="t", channel="api")
    receipts = await asyncio.gather(
        *(writer.store(submission(i), client, urgent=False) for i in range(40))
    )
    assert len({receipt.message_id for receipt in receipts}) == 40
    with runtime.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Message)).scalar() == 40


async def test_one_failing_submission_is_refused_alone(runtime):
    writer = IntakeWriter(runtime)
    client = Client(ip="10.0.0.1", user_agent="t", channel="api")
    broken = submission(99, subject=None)  # cannot be stored: subject is required in the table
    results = await asyncio.gather(
        writer.store(submission(1), client, urgent=False),
        writer.store(broken, client, urgent=False),
        writer.store(submission(2), client, urgent=False),
        return_exceptions=True,
    )
    assert not isinstance(results[0], BaseException) and not isinstance(results[2], BaseException)
    assert isinstance(results[1], BaseException)
    with runtime.engine.connect() as connection:
        emails = (
            connection.execute(sa.select(Message.__table__.c.email).order_by(Message.id))
            .scalars()
            .all()
        )
    assert emails == ["p1@example.com", "p2@example.com"]
    with runtime.engine.connect() as connection:  # nothing of the broken one is left behind
        contacts = connection.execute(sa.text("SELECT email FROM contact ORDER BY id")).scalars()
        assert list(contacts) == ["p1@example.com", "p2@example.com"]
