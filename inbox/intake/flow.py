"""One submission, from parsed fields to a committed row, shared by the form and the JSON API."""

from __future__ import annotations

import anyio
from fastapi import Request
from sqlmodel import Session

from inbox.errors import RateLimited
from inbox.intake.service import Client, Receipt, receive_submission
from inbox.intake.validation import Submission
from inbox.runtime import Runtime


def _store(runtime: Runtime, submission: Submission, client: Client) -> Receipt:
    with Session(runtime.engine) as session:
        try:
            receipt = receive_submission(
                session, submission=submission, client=client, settings=runtime.settings,
                now=runtime.clock.now(), urgent=runtime.first_look_urgent(submission),
            )
        except RateLimited:
            session.commit()  # the counters must stick even though this request is refused
            raise
        session.commit()
        return receipt


async def submit(runtime: Runtime, submission: Submission, *, request: Request, channel: str) -> Receipt:
    """Store a validated submission. SQLite is fastest on the event loop; others use a thread."""
    client = Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        channel=channel,
    )
    if runtime.sqlite:
        return _store(runtime, submission, client)
    return await anyio.to_thread.run_sync(_store, runtime, submission, client)
