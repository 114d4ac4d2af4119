"""One submission, from parsed fields to a committed row, shared by the form and the JSON API."""

from __future__ import annotations

from fastapi import Request

from inbox.intake.first_look import FirstLook
from inbox.intake.service import Client, Receipt
from inbox.intake.validation import Submission
from inbox.intake.writer import IntakeWriter
from inbox.middleware import PEER_KEY


async def submit(submission: Submission, *, request: Request, channel: str) -> Receipt:
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
    first_look: FirstLook = request.app.state.first_look
    urgent = await first_look.urgent(submission.subject, submission.message)
    return await writer.store(submission, client, urgent=urgent)
