"""Every mail of a conversation after the acknowledgement keeps one subject line ("Re: " and the
first answer's subject, nothing added) and the In-Reply-To/References chain, so the patient's
mail client keeps one thread."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from inbox.db import session_scope
from inbox.outbox.models import MailKind, OutboxMail
from inbox.runtime import Runtime
from tests.outbox.conftest import enqueue, make_conversation


def _thread(runtime: Runtime, subjects: list[tuple[str, str]]) -> list[OutboxMail]:
    now: datetime = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        conversation = make_conversation(session, now=now)
        mails = [
            enqueue(session, runtime, kind=kind, subject=subject, conversation_id=conversation.id)
            for kind, subject in subjects
        ]
        for mail in mails:
            session.expunge(mail)
    return mails


def test_later_mails_keep_the_first_answers_subject_and_the_reference_chain(outbox_runtime):
    ack, reply, follow_up, second = _thread(
        outbox_runtime,
        [
            (MailKind.ACKNOWLEDGEMENT, "We have received your message to Kidney Disease Hospital"),
            (MailKind.REPLY, "Re: your message to Kidney Disease Hospital"),
            (MailKind.FOLLOW_UP, "How are you getting on? A note from Kidney Disease Hospital"),
            (MailKind.REPLY, "Re: Re: your message to Kidney Disease Hospital"),
        ],
    )
    assert ack.subject == "We have received your message to Kidney Disease Hospital"
    assert reply.subject == "Re: your message to Kidney Disease Hospital"  # as its draft showed
    assert follow_up.subject == second.subject == reply.subject
    assert follow_up.in_reply_to == reply.message_id
    assert follow_up.references == f"{ack.message_id} {reply.message_id}"
    assert second.references == f"{ack.message_id} {reply.message_id} {follow_up.message_id}"
    with Session(outbox_runtime.engine) as session:
        stored = session.get(OutboxMail, second.id)
        assert stored is not None and b"Subject: Re: your message to" in (stored.raw or b"")


def test_a_subject_staff_chose_for_the_first_answer_is_the_threads(outbox_runtime):
    _, reply, follow_up = _thread(
        outbox_runtime,
        [
            (MailKind.ACKNOWLEDGEMENT, "We have received your message"),
            (MailKind.REPLY, "Our answer to your question"),
            (MailKind.FOLLOW_UP, "How are you getting on?"),
        ],
    )
    assert reply.subject == "Our answer to your question"
    assert follow_up.subject == "Re: Our answer to your question"
