"""A live worker whose lease renewals come late (a starved process, a slow database) while the
relay takes longer than a lease to answer the end of data: another worker may take its mails
over, but no mail reaches the relay twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from inbox.outbox import claims
from inbox.runtime import build_runtime
from tests.outbox.conftest import bulk_queue, make_worker
from tests.outbox.test_concurrency import count_sent

MAILS = 4


async def test_a_worker_whose_renewals_come_late_never_has_its_mails_sent_again(
    outbox_settings, smtp_server, monkeypatch
):
    settings = outbox_settings.model_copy(
        update={"worker_lease_seconds": 1, "smtp_send_timeout": 2, "smtp_data_timeout": 10}
    )
    renew = claims.renew

    def late_for_a(engine, *, owner, **kwargs):
        if owner == "a":
            time.sleep(1.5)  # every extension "a" asks for is written after its lease ran out
        return renew(engine, owner=owner, **kwargs)

    monkeypatch.setattr(claims, "renew", late_for_a)
    runtime = build_runtime(settings)  # the real clock: leases run out in real time
    try:
        message_ids = bulk_queue(runtime, MAILS)
        smtp_server.delay = 2.0  # each end-of-data reply comes after two leases
        first = make_worker(runtime, worker_id="a")
        tasks = [asyncio.create_task(first.run())]
        await asyncio.sleep(0.3)  # "a" claims everything and starts sending
        second = make_worker(runtime, worker_id="b")
        tasks.append(asyncio.create_task(second.run()))
        deadline = time.monotonic() + 30
        while count_sent(runtime) < MAILS and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for worker in (first, second):
            worker.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    finally:
        runtime.engine.dispose()

    assert count_sent(runtime) == MAILS
    assert Counter(smtp_server.message_ids()) == Counter(message_ids)  # each exactly once
