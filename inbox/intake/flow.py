"""One submission, from parsed fields to a committed row, shared by the form and the JSON API."""

from __future__ import annotations

import anyio
from fastapi import Request

from inbox.errors import RateLimited
from inbox.intake.service import Client, Receipt, receive_submission
from inbox.intake.validation import Submission
from inbox.runtime import Runtime


def _store(runtime: Runtime, submission: Submission, client: Client) -> Receipt:
    urgent = runtime.first_look_urgent(submission)
    with runtime.engine.connect() as connection:
        try:
            receipt = receive_submission(
                connection,
                submission=submission,
                client=client,
                settings=runtime.settings,
                now=runtime.clock.now(),
                urgent=urgent,
            )
        except RateLimited:
            connection.commit()  # the counters must stick even though this request is refused
            raise
        connection.commit()
        return receipt


async def submit(
    runtime: Runtime, submission: Submission, *, request: Request, channel: str
) -> Receipt:
    """Store a validated submission. SQLite is fastest on the event loop; others use a thread."""
    client = Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        channel=channel,
    )
    if runtime.sqlite:
        return _store(runtime, submission, client)
    return await anyio.to_thread.run_sync(_store, runtime, submission, client)
