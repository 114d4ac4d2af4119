"""Two live `inbox worker` processes while the database stalls (a TCP proxy in front of
PostgreSQL stops forwarding bytes) for longer than a lease: no mail reaches the relay twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from inbox.runtime import build_runtime
from tests.outbox.conftest import bulk_queue, make_worker
from tests.outbox.test_concurrency import count_sent, start_worker, stop, wait_until_sent
from tests.stall_proxy import StallingProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]  # a stalled network connection


@pytest.fixture
def database_proxy(outbox_settings):
    import sqlalchemy as sa

    url = sa.engine.make_url(outbox_settings.database_url)
    proxy = StallingProxy(url.host or "127.0.0.1", url.port or 5432).start()
    yield proxy
    proxy.resume()
    proxy.stop()


def test_two_live_workers_send_no_mail_twice_across_a_stall_longer_than_the_lease(
    outbox_settings, outbox_runtime, smtp_server, database_proxy
):
    lease = 2
    message_ids = bulk_queue(outbox_runtime, 600)
    smtp_server.delay = 0.01  # the workers are mid-batch when the stall begins
    env = {
        "INBOX_DATABASE_URL": database_proxy.url_for(outbox_settings.database_url),
        "INBOX_WORKER_BATCH_SIZE": "20",
        "INBOX_WORKER_CONCURRENCY": "4",
        "INBOX_WORKER_LEASE_SECONDS": str(lease),
    }
    workers = [start_worker(outbox_settings, **env) for _ in range(2)]
    try:
        smtp_server.wait_for(100, timeout=30)
        database_proxy.pause()
        time.sleep(3 * lease)
        database_proxy.resume()
        wait_until_sent(outbox_runtime, 600, timeout=90)
    finally:
        database_proxy.resume()
        stop(workers)

    received = Counter(smtp_server.message_ids())
    assert set(received) == set(message_ids)  # nothing lost
    twice = [message_id for message_id, count in received.items() if count > 1]
    assert twice == []


async def test_a_mail_whose_end_of_data_reply_outlasts_the_lease_is_sent_once(
    outbox_settings, smtp_server
):
    """The worker leases each mail for a whole send before it starts it, so a second worker
    never takes the mail over while the relay's answer is awaited, and never sends it again."""
    settings = outbox_settings.model_copy(
        update={"worker_lease_seconds": 1, "smtp_data_timeout": 10, "smtp_send_timeout": 2}
    )
    runtime = build_runtime(settings)  # the real clock: leases run out in real time
    try:
        message_ids = bulk_queue(runtime, 6)
        smtp_server.delay = 2.5  # the relay accepts each mail after more than two leases
        workers = [make_worker(runtime, worker_id=name) for name in ("a", "b")]
        tasks = [asyncio.create_task(worker.run()) for worker in workers]
        deadline = time.monotonic() + 30
        while count_sent(runtime) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
    finally:
        runtime.engine.dispose()

    assert count_sent(runtime) == 6
    assert Counter(smtp_server.message_ids()) == Counter(message_ids)  # each exactly once
