"""The service functions other domains call: enqueue, re-queue, cancel, inspect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from inbox.conversations.models import Conversation, ConversationState
from inbox.db import session_scope
from inbox.outbox import service
from inbox.outbox.models import MailState
from tests.outbox.conftest import enqueue, enqueue_committed, load_mail, make_conversation


async def test_staff_can_requeue_a_failed_mail_with_a_fresh_budget(
    outbox_runtime, worker, smtp_server, clock
):
    smtp_server.script = ["554 5.7.1 rejected"]
    mail_id = enqueue_committed(outbox_runtime)
    await worker.drain()
    assert load_mail(outbox_runtime, mail_id).state == MailState.FAILED

    clock.advance(timedelta(hours=2))
    with session_scope(outbox_runtime.engine) as session:
        mail = service.requeue_mail(session, mail_id=mail_id, now=clock.now())
        assert (mail.state, mail.attempts, mail.send_after) == (MailState.QUEUED, 0, clock.now())
    await worker.drain()
    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.attempts) == (MailState.SENT, 1)
    with Session(outbox_runtime.engine) as session:
        assert len(service.attempts_for_mail(session, mail_id)) == 2


def test_only_a_failed_mail_can_be_requeued(outbox_runtime):
    mail_id = enqueue_committed(outbox_runtime)
    with session_scope(outbox_runtime.engine) as session, pytest.raises(service.MailStateConflict):
        service.requeue_mail(session, mail_id=mail_id, now=outbox_runtime.clock.now())
    with session_scope(outbox_runtime.engine) as session, pytest.raises(service.MailNotFound):
        service.requeue_mail(session, mail_id=999, now=outbox_runtime.clock.now())


def test_a_mail_that_could_not_be_built_cannot_be_requeued(outbox_runtime):
    with session_scope(outbox_runtime.engine) as session:
        mail_id = enqueue(session, outbox_runtime, recipient="not an address").id
    with session_scope(outbox_runtime.engine) as session, pytest.raises(service.MailStateConflict):
        service.requeue_mail(session, mail_id=mail_id, now=outbox_runtime.clock.now())


async def test_cancelled_mail_is_never_sent(outbox_runtime, worker, smtp_server):
    mail_id = enqueue_committed(outbox_runtime)
    with session_scope(outbox_runtime.engine) as session:
        service.cancel_mail(
            session, mail_id=mail_id, now=outbox_runtime.clock.now(), reason="patient wrote again"
        )
    await worker.drain()
    assert load_mail(outbox_runtime, mail_id).state == MailState.CANCELLED
    assert smtp_server.received == []


def test_enqueue_keeps_the_callers_transaction_when_a_mail_cannot_be_built(outbox_runtime, clock):
    with session_scope(outbox_runtime.engine) as session:
        conversation_id = make_conversation(session, now=clock.now()).id
        mail = enqueue(
            session,
            outbox_runtime,
            conversation_id=conversation_id,
            subject="cramps\nBcc: x@example.org",
        )
        assert mail.state == MailState.FAILED
    with Session(outbox_runtime.engine) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None  # the caller's work was committed
        # the outbox knows nothing of conversations: the caller decides (see approve_reply)
        assert conversation.state == ConversationState.QUEUED


def test_mails_for_conversation_and_queue_stats(outbox_runtime, clock):
    with session_scope(outbox_runtime.engine) as session:
        conversation_id = make_conversation(session, now=clock.now()).id
        enqueue(session, outbox_runtime, conversation_id=conversation_id)
        enqueue(
            session,
            outbox_runtime,
            conversation_id=conversation_id,
            send_after=clock.now() + timedelta(days=7),
        )
        enqueue(session, outbox_runtime, recipient="broken")
    clock.advance(timedelta(minutes=10))
    with Session(outbox_runtime.engine) as session:
        mails = service.mails_for_conversation(session, conversation_id)
        stats = service.queue_stats(session, clock.now())
    assert [m.conversation_id for m in mails] == [conversation_id] * 2
    assert stats["counts"] == {
        "queued": 2,
        "sending": 0,
        "sent": 0,
        "failed": 1,
        "cancelled": 0,
        "held": 0,
    }
    assert stats["oldest_due_age_seconds"] == 600
    [failure] = stats["recent_failures"]
    assert failure["recipient"] == "broken" and "not exactly one address" in failure["error"]
