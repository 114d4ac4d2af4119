"""Two live `inbox worker` processes against a relay that misbehaves in every way a relay does
(4xx, 5xx, a dropped connection, an end-of-data reply later than the command timeout) while
the database stalls for longer than a lease: every mail the relay did not refuse arrives
exactly once, every refused one is failed and visible, none is sent twice.

Bounded: 120 mails, one 4 s stall, at most 90 s for the queue to settle.
"""

from __future__ import annotations

import time
from collections import Counter
from itertools import cycle, islice

import pytest
import sqlalchemy as sa

from inbox.outbox.models import MailState, OutboxMail
from tests.database_stall import DatabaseStall
from tests.outbox.conftest import bulk_queue
from tests.outbox.test_concurrency import start_worker, stop

pytestmark = pytest.mark.slow

MAILS = 120
FAULTS = ["451 4.7.1 try again later", "drop", "550 5.1.1 no such mailbox", "late:2.5", "250 OK"]
LEASE = 2


def states(runtime) -> dict[str, str]:
    mail = OutboxMail.__table__  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        rows = connection.execute(sa.select(mail.c.message_id, mail.c.state)).all()
    return dict(rows)


def test_a_misbehaving_relay_and_a_stalled_database_lose_or_double_no_mail(
    outbox_settings, outbox_runtime, smtp_server
):
    message_ids = bulk_queue(outbox_runtime, MAILS)
    smtp_server.script = list(islice(cycle(FAULTS), 25))  # the first 25 end-of-data replies
    refused = smtp_server.script.count(FAULTS[2])
    stall = DatabaseStall(outbox_settings.database_url)
    env = {
        "INBOX_DATABASE_URL": stall.url,
        "INBOX_WORKER_BATCH_SIZE": "10",
        "INBOX_WORKER_CONCURRENCY": "4",
        "INBOX_WORKER_LEASE_SECONDS": str(LEASE),
        "INBOX_SMTP_TIMEOUT": "2",  # each command; the end-of-data reply may take longer
        "INBOX_SMTP_DATA_TIMEOUT": "10",
        "INBOX_SMTP_SEND_TIMEOUT": "15",
        "INBOX_RETRY_BASE_SECONDS": "0.2",
        "INBOX_RETRY_MAX_SECONDS": "1",
    }
    workers = [start_worker(outbox_settings, **env) for _ in range(2)]
    try:
        smtp_server.wait_for(10, timeout=60)  # the stall comes amid the faults
        stall.pause()
        time.sleep(2 * LEASE)
        stall.resume()
        deadline = time.monotonic() + 90
        while Counter(states(outbox_runtime).values())[MailState.SENT] < MAILS - refused:
            assert time.monotonic() < deadline, Counter(states(outbox_runtime).values())
            time.sleep(0.2)
    finally:
        stall.stop()
        stop(workers)

    final = states(outbox_runtime)
    failed = {message_id for message_id, state in final.items() if state == MailState.FAILED}
    received = Counter(smtp_server.message_ids())
    assert len(failed) == refused  # each 5xx fails its mail at once, visible to staff
    assert set(received) == set(message_ids) - failed  # nothing lost
    assert [message_id for message_id, count in received.items() if count > 1] == []
    assert Counter(final.values()) == {MailState.SENT: MAILS - refused, MailState.FAILED: refused}
