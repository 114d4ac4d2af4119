"""One submission, from parsed fields to a committed row, shared by the form and the JSON API."""

from __future__ import annotations

from fastapi import Request

from inbox.intake.service import Client, Receipt
from inbox.intake.validation import Submission
from inbox.intake.writer import IntakeWriter
from inbox.knowledge.loader import Knowledge
from inbox.knowledge.service import assess_urgency
from inbox.middleware import PEER_KEY
from inbox.runtime import Runtime


async def submit(
    runtime: Runtime, submission: Submission, *, request: Request, channel: str
) -> Receipt:
    """Store a validated submission through the app's group-commit writer (built in its
    lifespan)."""
    ip = request.client.host if request.client else None
    peer = request.scope.get(PEER_KEY)
    client = Client(
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        channel=channel,
        peer=peer if peer != ip else None,
    )
    writer: IntakeWriter = request.app.state.intake_writer
    urgent = first_look_urgent(runtime.knowledge, submission)
    return await writer.store(submission, client, urgent=urgent)


def first_look_urgent(knowledge: Knowledge, submission: Submission) -> bool:
    """Whether a new message may describe an emergency (for the thank-you page)."""
    return bool(assess_urgency(knowledge, subject=submission.subject, text=submission.message))
