"""Several `inbox worker` processes on one database, and a worker killed mid-batch.

A real SMTP server counts the Message-IDs it receives: with four workers every mail arrives exactly
once; after `kill -9` every mail arrives at least once, and the only duplicates are mails the dead
worker held (claimed, outcome not yet written) when it died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from inbox.outbox.models import MailState, OutboxMail
from tests.outbox.conftest import bulk_queue

INBOX_COMMAND = [sys.executable, "-c", "from inbox.cli import app; app()", "worker"]
_mail = OutboxMail.__table__  # type: ignore[attr-defined]


def start_worker(settings, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "INBOX_SECRET_KEY": settings.secret_key,
        "INBOX_DATABASE_URL": settings.database_url,
        "INBOX_SMTP_HOST": settings.smtp_host,
        "INBOX_SMTP_PORT": str(settings.smtp_port),
        "INBOX_MAIL_CATCHER": "false",
        "INBOX_WORKER_POLL_SECONDS": "0.1",
        "INBOX_LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(INBOX_COMMAND, env=environment, stderr=subprocess.PIPE)


def count_sent(runtime) -> int:
    with runtime.engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).where(_mail.c.state == MailState.SENT)
        ).scalar_one()


def wait_until_sent(runtime, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while count_sent(runtime) < count:
        assert time.monotonic() < deadline, f"only {count_sent(runtime)} of {count} sent"
        time.sleep(0.1)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        _, errors = process.communicate(timeout=30)
        assert process.returncode in (0, -signal.SIGKILL), errors.decode()


@pytest.mark.postgresql_only  # SKIP LOCKED claims across processes
def test_four_workers_deliver_every_mail_exactly_once(outbox_settings, outbox_runtime, smtp_server):
    message_ids = bulk_queue(outbox_runtime, 2000)
    workers = [start_worker(outbox_settings) for _ in range(4)]
    try:
        wait_until_sent(outbox_runtime, 2000, timeout=60)
    finally:
        stop(workers)

    received = Counter(smtp_server.message_ids())
    assert set(received) == set(message_ids)
    assert max(received.values()) == 1
    with outbox_runtime.engine.connect() as connection:
        senders = connection.exec_driver_sql(
            "SELECT count(DISTINCT worker), count(*) FROM delivery_attempt"
        ).one()
    assert senders[1] == 2000  # one attempt per mail
    assert senders[0] >= 2  # the work was shared


def test_killed_worker_leaves_its_mails_to_another_after_the_lease(
    outbox_settings, outbox_runtime, smtp_server
):
    batch, concurrency, lease = 20, 4, 2
    message_ids = bulk_queue(outbox_runtime, 300)
    smtp_server.delay = 0.01  # ~100 mails/s per connection: the kill lands mid-batch
    env = {
        "INBOX_WORKER_BATCH_SIZE": str(batch),
        "INBOX_WORKER_CONCURRENCY": str(concurrency),
        "INBOX_WORKER_LEASE_SECONDS": str(lease),
        # a claim leases its mails for a whole send more (outbox/holding.py)
        "INBOX_SMTP_SEND_TIMEOUT": "2",
        "INBOX_SMTP_DATA_TIMEOUT": "2",
    }
    victim = start_worker(outbox_settings, **env)
    try:
        smtp_server.wait_for(60, timeout=30)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    with outbox_runtime.engine.connect() as connection:
        in_flight = set(
            connection.execute(
                sa.select(_mail.c.message_id)
                .where(_mail.c.state == MailState.SENDING)
                .where(_mail.c.lease_owner.like(f"%:{victim.pid}:%"))
            ).scalars()
        )
    assert in_flight  # it died holding mails

    successor = start_worker(outbox_settings, **env)
    try:
        wait_until_sent(outbox_runtime, 300, timeout=60)
    finally:
        stop([successor])

    received = Counter(smtp_server.message_ids())
    assert set(received) == set(message_ids)  # at least once
    duplicates = {message_id for message_id, count in received.items() if count > 1}
    assert duplicates <= in_flight
    assert max(received.values()) <= 2
    # what a worker can hold: one claimed batch, the rest of the previous one (below the low-water
    # mark of max(concurrency, batch/2)), one mail per connection, and outcomes not yet written
    # (written every 50 ms)
    assert len(in_flight) <= batch + max(concurrency, batch // 2) + concurrency + 20
