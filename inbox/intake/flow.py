"""One submission, from parsed fields to a committed row, shared by the form and the JSON API."""

from __future__ import annotations

from fastapi import Request

from inbox.intake.service import Client, Receipt
from inbox.intake.validation import Submission
from inbox.runtime import Runtime


async def submit(
    runtime: Runtime, submission: Submission, *, request: Request, channel: str
) -> Receipt:
    """Store a validated submission through the process's group-commit writer."""
    client = Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        channel=channel,
    )
    urgent = runtime.first_look_urgent(submission)
    return await runtime.intake_writer.store(submission, client, urgent=urgent)
