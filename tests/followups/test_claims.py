"""Due follow-ups are claimed like outbox mails: one enqueue per follow-up, whatever the workers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from inbox.conversations.models import Contact, Conversation, ConversationState
from inbox.db import session_scope
from inbox.followups.delivery import claim_due, send_due_follow_ups
from inbox.followups.models import FollowUp, FollowUpState
from inbox.outbox.models import MailKind, OutboxMail
from tests.followups.support import deliver, follow_ups, mails


def make_due_follow_ups(runtime, count: int) -> list[int]:
    """`count` conversations answered a week ago, each with one follow-up due now."""
    now = runtime.clock.now()
    ids = []
    with session_scope(runtime.engine) as session:
        for number in range(count):
            contact = Contact(
                email=f"patient{number}@example.org", name=f"Pat {number}", created_at=now
            )
            session.add(contact)
            session.flush()
            conversation = Conversation(
                contact_id=contact.id, subject="cramps", state=ConversationState.SENT,
                created_at=now, updated_at=now, last_message_at=now,
            )  # fmt: skip
            session.add(conversation)
            session.flush()
            follow_up = FollowUp(
                conversation_id=conversation.id, recipient=contact.email, due_at=now,
                created_at=now, updated_at=now,
            )  # fmt: skip
            session.add(follow_up)
            session.flush()
            ids.append(follow_up.id)
    return ids


def test_a_claimed_follow_up_is_taken_over_only_after_its_lease(runtime, clock, smtp_server):
    [follow_up_id] = make_due_follow_ups(runtime, 1)
    lease = timedelta(seconds=runtime.settings.worker_lease_seconds)
    assert [
        item[0]
        for item in claim_due(runtime.engine, owner="dead", now=clock.now(), lease=lease, limit=10)
    ] == [follow_up_id]

    assert send_due_follow_ups(runtime, owner="alive") == 0  # leased to a worker that died
    clock.advance(lease + timedelta(seconds=1))
    assert send_due_follow_ups(runtime, owner="alive") == 1
    [follow_up] = follow_ups(runtime)
    assert follow_up.state == FollowUpState.SENT
    deliver(runtime)
    assert [item.recipients for item in smtp_server.received] == [["patient0@example.org"]]


def test_a_follow_up_cancelled_while_claimed_is_not_sent(runtime, clock):
    from inbox.followups.service import cancel_follow_ups_for_address

    make_due_follow_ups(runtime, 1)
    lease = timedelta(minutes=2)
    claim_due(runtime.engine, owner="slow", now=clock.now(), lease=lease, limit=10)
    with session_scope(runtime.engine) as session:
        assert (
            cancel_follow_ups_for_address(
                session, email="patient0@example.org", reason="unsubscribed", now=clock.now()
            )
            == 1
        )
    clock.advance(lease * 2)
    assert send_due_follow_ups(runtime) == 0
    assert mails(runtime, MailKind.FOLLOW_UP) == []


@pytest.mark.postgresql_only  # SKIP LOCKED claims between processes
def test_two_workers_on_postgresql_never_send_a_follow_up_twice(runtime, smtp_server):
    runtime.settings.worker_batch_size = 5  # many small claims: the workers interleave
    ids = make_due_follow_ups(runtime, 40)
    barrier = threading.Barrier(4)
    handled: list[int] = []

    def work(owner: str) -> None:
        barrier.wait()
        for _ in range(3):
            handled.append(send_due_follow_ups(runtime, owner=owner))

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(handled) == len(ids)
    with Session(runtime.engine) as session:
        queued = session.exec(
            select(OutboxMail.recipient).where(OutboxMail.kind == MailKind.FOLLOW_UP)
        ).all()
        states = Counter(session.exec(select(FollowUp.state)).all())
    assert len(queued) == len(set(queued)) == len(ids)
    assert states == {FollowUpState.SENT: len(ids)}
    deliver(runtime)
    deliver(runtime)
    assert sorted(r for item in smtp_server.received for r in item.recipients) == sorted(queued)
