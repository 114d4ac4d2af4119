"""A backlog of messages to draft never starves the web side of `inbox serve`.

The worker works through a periodic job one bounded batch at a time (INBOX_WORKER_BATCH_SECONDS)
and rests between batches; meanwhile patients posting the form are answered about as fast as
when the worker has nothing to do. Against a real uvicorn server, on either database.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import sqlalchemy as sa

from inbox.conversations.models import Message
from inbox.db import session_scope
from inbox.worker import build_worker, draft_new_messages
from tests.drafting.support import store_message
from tests.factories import form_fields

BACKLOG = 30
WALK_INS = 12  # form posts while the backlog is worked
BATCH_SECONDS = 0.05
CRAMPS = "My legs cramp badly in the last hour of dialysis, after they take off 4 litres. "


def waiting(runtime) -> int:
    with runtime.engine.connect() as connection:
        query = sa.select(sa.func.count()).where(Message.__table__.c.drafted_at.is_(None))
        return int(connection.execute(query).scalar() or 0)


async def post_form(client: httpx.AsyncClient, settings, clock, index: int) -> float:
    fields = form_fields(settings, clock, email=f"walk-in{index}@example.com")
    started = time.monotonic()
    response = await client.post("/contact", data=fields)
    assert response.status_code == 303, response.text
    return time.monotonic() - started


async def test_a_drafting_backlog_is_worked_in_rested_batches_and_the_form_stays_fast(
    runtime, settings, clock, live_server
):
    settings.worker_batch_seconds = BATCH_SECONDS
    settings.acknowledge = False  # nothing to send: the drafting alone is measured
    with session_scope(runtime.engine) as session:
        for index in range(BACKLOG):
            store_message(
                session, settings=settings, now=clock.now(), email=f"queued{index}@example.com",
                message=f"{CRAMPS}({index})",
            )  # fmt: skip
    batches: list[tuple[float, float, int]] = []  # started, ended, messages drafted

    def drafting(runtime_) -> int:
        started = time.monotonic()
        drafted = draft_new_messages(runtime_)
        batches.append((started, time.monotonic(), drafted))
        return drafted

    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as patient:
        idle = [await post_form(patient, settings, clock, index) for index in range(8)]
        worker = build_worker(runtime, jobs=[drafting])
        task = asyncio.create_task(worker.run())
        busy: list[float] = []
        deadline = time.monotonic() + 120
        try:
            while waiting(runtime) > len(busy) and len(busy) < WALK_INS:
                busy.append(await post_form(patient, settings, clock, 100 + len(busy)))
                await asyncio.sleep(0.05)
            while waiting(runtime) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=30)

    assert waiting(runtime) == 0  # the backlog and the walk-ins were all drafted
    worked = [batch for batch in batches if batch[2]]
    assert len(worked) > 1, "the whole backlog went in one batch: nothing bounded it"
    assert sum(batch[2] for batch in worked) == BACKLOG + len(idle) + len(busy)
    for (started, ended, _), (next_started, _, _) in zip(worked, worked[1:], strict=False):
        rest = next_started - ended
        # asyncio's timers may fire a little early; the worker rested, it did not go straight on
        assert rest >= 0.8 * min(ended - started, BATCH_SECONDS), (rest, ended - started)
    assert len(busy) >= 3, "the backlog was drafted before the form could be measured"
    # a patient's post waits no longer than with an idle worker, give or take a little
    assert statistics.median(busy) < 2 * statistics.median(idle) + 0.05, (busy, idle)
    assert max(busy) < 1, busy
