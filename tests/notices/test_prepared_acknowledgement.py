"""The acknowledgement is built before the drafting transaction (on SQLite, where that
transaction holds the database's one write lock), and what changed meanwhile still reaches the
patient: the address's unsubscribe link that works, and the thread of the conversation."""

from __future__ import annotations

from collections.abc import Callable

from inbox.conversations.models import Message
from inbox.db import read_scope, session_scope
from inbox.drafting.service import draft_message, prepare_draft
from inbox.followups.unsubscribe import token_for
from inbox.notices.service import after_triage, prepare_notices
from inbox.outbox.models import MailKind
from inbox.outbox.service import enqueue_mail
from inbox.worker import draft_new_messages
from tests.followups.support import EMAIL, deliver, submit


def _ack(smtp_server):
    [ack] = [r.parsed() for r in smtp_server.received if r.parsed()["Auto-Submitted"]]
    return ack


def _drafted_with_a_change_meanwhile(runtime, message_id: int, meanwhile: Callable[[], object]):
    """Draft as the SQLite worker does (prepare ahead, then the transaction), with `meanwhile`
    done by someone else between the two."""
    with read_scope(runtime.engine) as session:
        message = session.get(Message, message_id)
        prepared = prepare_draft(runtime, message=message)
        ahead = prepare_notices(session, runtime=runtime, message=message, prepared=prepared)
    assert ahead is not None
    meanwhile()
    with session_scope(runtime.engine) as session:
        draft = draft_message(session, runtime=runtime, message_id=message_id, prepared=prepared)
        after_triage(session, runtime=runtime, message_id=message_id, draft=draft, ahead=ahead)


def _unsubscribe_page(client, ack) -> str:
    link = ack["List-Unsubscribe"].strip("<>")
    return client.get(link.removeprefix("http://testserver")).text


def test_a_first_acknowledgement_carries_an_unsubscribe_link_that_works(
    client, runtime, smtp_server
):
    submit(client)
    assert draft_new_messages(runtime) == 1
    deliver(runtime)
    assert "Stop automatic e-mails?" in _unsubscribe_page(client, _ack(smtp_server))


def test_a_token_given_to_the_address_meanwhile_is_the_one_its_link_carries(
    client, runtime, smtp_server
):
    message_id = submit(client)["id"]

    def another_mail_gives_the_address_its_token():
        with session_scope(runtime.engine) as other:
            token_for(other, email=EMAIL, now=runtime.clock.now())

    _drafted_with_a_change_meanwhile(runtime, message_id, another_mail_gives_the_address_its_token)
    deliver(runtime)
    assert "Stop automatic e-mails?" in _unsubscribe_page(client, _ack(smtp_server))


def test_a_mail_queued_in_the_conversation_meanwhile_is_what_the_acknowledgement_answers(
    client, runtime, smtp_server
):
    submitted = submit(client)
    earlier: list[str] = []

    def a_mail_is_queued_in_the_conversation():
        now = runtime.clock.now()
        with session_scope(runtime.engine) as other:
            mail = enqueue_mail(
                other, settings=runtime.settings, kind=MailKind.REPLY, recipient=EMAIL,
                subject="About your cramps", text="text", html="<p>text</p>",
                conversation_id=submitted["conversation_id"], automatic=False, send_after=now,
                now=now,
            )  # fmt: skip
            earlier.append(mail.message_id)

    _drafted_with_a_change_meanwhile(runtime, submitted["id"], a_mail_is_queued_in_the_conversation)
    deliver(runtime)
    ack = _ack(smtp_server)
    assert ack["Subject"] == "Re: About your cramps"  # the thread's subject, as any later mail
    assert ack["In-Reply-To"] == earlier[0]
    assert ack["References"] == earlier[0]
