"""Claiming under leases, taking over expired leases, and the graceful stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from inbox.outbox import claims
from inbox.outbox.models import MailState
from tests.outbox.conftest import bulk_queue, enqueue_committed, load_mail, make_worker


def test_second_worker_never_claims_a_leased_mail(outbox_runtime, clock):
    bulk_queue(outbox_runtime, 30)
    lease = timedelta(seconds=120)
    first = claims.claim(outbox_runtime.engine, owner="a", now=clock.now(), lease=lease, limit=20)
    second = claims.claim(outbox_runtime.engine, owner="b", now=clock.now(), lease=lease, limit=20)
    third = claims.claim(outbox_runtime.engine, owner="c", now=clock.now(), lease=lease, limit=20)

    assert [len(first), len(second), len(third)] == [20, 10, 0]
    assert not {m.id for m in first} & {m.id for m in second}
    mail = load_mail(outbox_runtime, first[0].id)
    assert (mail.state, mail.lease_owner) == (MailState.SENDING, "a")
    assert mail.lease_expires_at == clock.now() + lease


def test_mail_not_yet_due_is_not_claimed(outbox_runtime, clock):
    enqueue_committed(outbox_runtime, send_after=clock.now() + timedelta(minutes=5))
    lease = timedelta(seconds=60)
    assert (
        claims.claim(outbox_runtime.engine, owner="a", now=clock.now(), lease=lease, limit=5) == []
    )
    clock.advance(timedelta(minutes=5))
    assert (
        len(claims.claim(outbox_runtime.engine, owner="a", now=clock.now(), lease=lease, limit=5))
        == 1
    )


async def test_dead_workers_claims_are_taken_over_when_the_lease_expires(
    outbox_runtime, smtp_server, clock
):
    mail_id = enqueue_committed(outbox_runtime)
    lease = timedelta(seconds=outbox_runtime.settings.worker_lease_seconds)
    [taken] = claims.claim(
        outbox_runtime.engine, owner="dead", now=clock.now(), lease=lease, limit=5
    )
    worker = make_worker(outbox_runtime)

    assert await worker.drain() == 0  # still leased
    clock.advance(lease + timedelta(seconds=1))
    assert await worker.drain() == 1
    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.lease_owner, mail.attempts) == (MailState.SENT, None, 1)
    assert len(smtp_server.received) == 1


async def test_late_outcome_of_a_lost_lease_does_not_undo_the_new_owners_work(
    outbox_runtime, smtp_server, clock
):
    """Worker "slow" lost its lease; its retry outcome must not re-queue the sent mail."""
    from inbox.outbox.claims import Result, RetryPolicy
    from inbox.outbox.sender import Reply

    mail_id = enqueue_committed(outbox_runtime)
    lease = timedelta(seconds=10)
    [slow] = claims.claim(
        outbox_runtime.engine, owner="slow", now=clock.now(), lease=lease, limit=1
    )
    clock.advance(timedelta(seconds=11))
    await make_worker(outbox_runtime).drain()
    policy = RetryPolicy(budget=timedelta(hours=1), base_seconds=60, max_seconds=600)
    late = Result(slow, Reply("retry", 451, "busy"), clock.now(), 5.0)
    claims.record(outbox_runtime.engine, [late], owner="slow", policy=policy)
    assert load_mail(outbox_runtime, mail_id).state == MailState.SENT


async def test_stop_finishes_mails_in_hand_and_gives_back_the_rest(outbox_runtime, smtp_server):
    bulk_queue(outbox_runtime, 40)
    smtp_server.delay = 0.2
    worker = make_worker(outbox_runtime, concurrency=2)
    task = asyncio.create_task(worker.run())
    await asyncio.to_thread(smtp_server.wait_for, 2)
    worker.stop()
    await asyncio.wait_for(task, timeout=10)

    with outbox_runtime.engine.connect() as connection:
        states = dict(
            connection.exec_driver_sql(
                "SELECT state, count(*) FROM outbox_mail GROUP BY state"
            ).all()
        )
    assert states.get(MailState.SENDING, 0) == 0  # nothing left leased
    assert states[MailState.SENT] == len(smtp_server.received)
    assert states[MailState.SENT] + states[MailState.QUEUED] == 40
    assert states[MailState.QUEUED] > 0


async def test_periodic_jobs_run_and_a_failing_job_does_not_stop_the_loop(outbox_runtime):
    calls: list[str] = []

    def broken(runtime):
        calls.append("broken")
        raise RuntimeError("boom")

    def counting(runtime):
        calls.append("counting")
        return 0

    worker = make_worker(outbox_runtime, jobs=[broken, counting])
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if calls.count("counting") >= 2:
            break
        await asyncio.sleep(0.05)
    worker.stop()
    await asyncio.wait_for(task, timeout=5)
    assert calls.count("counting") >= 2 and calls.count("broken") >= 2


async def test_mail_held_until_its_lease_is_nearly_over_is_given_back_not_sent_twice(
    outbox_settings, smtp_server
):
    """A slow server: mails waiting in hand would outlive their lease (and be claimed again, by
    this worker or another, while still in hand); the worker gives them back instead."""
    from inbox.runtime import build_runtime

    settings = outbox_settings.model_copy(update={"worker_lease_seconds": 2})
    runtime = build_runtime(settings)  # the real clock: leases run out while it works
    try:
        message_ids = bulk_queue(runtime, 6)
        smtp_server.delay = 0.6
        worker = make_worker(runtime, concurrency=1)
        task = asyncio.create_task(worker.run())
        for _ in range(200):
            with runtime.engine.connect() as connection:
                sent = connection.exec_driver_sql(
                    "SELECT count(*) FROM outbox_mail WHERE state = 'sent'"
                ).scalar()
            if sent == 6:
                break
            await asyncio.sleep(0.05)
        worker.stop()
        await asyncio.wait_for(task, timeout=10)
        assert sorted(smtp_server.message_ids()) == sorted(message_ids)  # each exactly once
        with runtime.engine.connect() as connection:
            attempts = connection.exec_driver_sql("SELECT max(attempts) FROM outbox_mail").scalar()
        assert attempts == 1
    finally:
        runtime.engine.dispose()
