"""A reply is delivered, a follow-up falls due a week later and reaches the patient's mailbox with
the unsubscribe headers; every cancelling event keeps it from going."""

from __future__ import annotations

from datetime import timedelta

from inbox.db import session_scope
from inbox.followups.delivery import claim_due, send_due_follow_ups
from inbox.followups.models import FollowUpState
from inbox.followups.service import get_suppression
from inbox.outbox.models import MailKind
from inbox.outbox.service import enqueue_mail
from inbox.worker import draft_new_messages
from tests.followups.support import (
    EMAIL,
    approve,
    deliver,
    follow_ups,
    mails,
    reply_sent,
    staff_member,
    submit,
)
from tests.staff.factories import csrf_token, sign_in

WEEK = timedelta(days=7)
FOLLOW_UP_TEXT = "we would like to know how you are now"


def _follow_up_mails(smtp_server):
    # the subject is the thread's ("Re: " + the first mail's): the text says what the mail is
    return [
        r
        for r in smtp_server.received
        if FOLLOW_UP_TEXT in " ".join(r.parsed().get_body(("plain",)).get_content().split())
    ]


def test_reply_sent_then_follow_up_arrives_a_week_later_with_unsubscribe_headers(
    client, runtime, clock, smtp_server
):
    sent_at = clock.now()
    conversation_id = reply_sent(client, runtime)
    [follow_up] = follow_ups(runtime, conversation_id)
    assert follow_up.state == FollowUpState.SCHEDULED
    assert follow_up.due_at == sent_at + WEEK
    assert follow_up.recipient == EMAIL

    clock.advance(WEEK - timedelta(minutes=1))
    assert send_due_follow_ups(runtime) == 0
    deliver(runtime)
    assert _follow_up_mails(smtp_server) == []

    clock.advance(timedelta(minutes=1))
    assert send_due_follow_ups(runtime) == 1
    deliver(runtime)
    [received] = _follow_up_mails(smtp_server)
    message = received.parsed()
    assert received.recipients == [EMAIL]
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://testserver/unsubscribe/") and unsubscribe.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Auto-Submitted"] == "auto-generated"
    reply = mails(runtime, MailKind.REPLY)[0]
    assert message["Subject"] == reply.subject  # the follow-up keeps the reply's subject line
    assert reply.message_id in message["References"]  # threads under the reply
    text = message.get_body(("plain",)).get_content()
    assert "Karim Haddad" in text
    assert "http://testserver/unsubscribe/" in text

    # never twice: the job and the worker have nothing more to do
    clock.advance(timedelta(days=1))
    assert send_due_follow_ups(runtime) == 0
    deliver(runtime)
    assert len(_follow_up_mails(smtp_server)) == 1
    [follow_up] = follow_ups(runtime, conversation_id)
    assert follow_up.state == FollowUpState.SENT and follow_up.outbox_mail_id is not None


def test_several_delays_schedule_several_follow_ups(client, runtime, clock):
    runtime.settings.followup_delays = ["3d", "14d"]
    sent_at = clock.now()
    conversation_id = reply_sent(client, runtime)
    due = [(item.sequence, item.due_at) for item in follow_ups(runtime, conversation_id)]
    assert due == [(1, sent_at + timedelta(days=3)), (2, sent_at + timedelta(days=14))]


def _nothing_sent_at_due_time(runtime, clock, smtp_server, conversation_id, reason_part):
    clock.advance(WEEK + timedelta(hours=1))
    send_due_follow_ups(runtime)
    deliver(runtime)
    assert _follow_up_mails(smtp_server) == []
    [follow_up] = follow_ups(runtime, conversation_id)
    assert follow_up.state == FollowUpState.CANCELLED
    assert reason_part in (follow_up.cancel_reason or "")


def test_patient_writing_again_cancels_the_follow_up(client, runtime, clock, smtp_server):
    conversation_id = reply_sent(client, runtime)
    clock.advance(timedelta(days=2))
    again = submit(client, message="The cramps came back yesterday, worse than before.")
    assert again["conversation_id"] == conversation_id
    _nothing_sent_at_due_time(runtime, clock, smtp_server, conversation_id, "wrote again")


def test_patient_writing_while_a_worker_holds_the_follow_up_cancels_it(
    client, runtime, clock, smtp_server
):
    conversation_id = reply_sent(client, runtime)
    clock.advance(WEEK)
    [(follow_up_id, _)] = claim_due(
        runtime.engine, owner="slow-worker", now=clock.now(), lease=timedelta(minutes=2), limit=5
    )
    assert follow_ups(runtime, conversation_id)[0].state == FollowUpState.CLAIMED
    submit(client, message="The cramps came back yesterday, worse than before.")
    [follow_up] = follow_ups(runtime, conversation_id)
    assert follow_up.id == follow_up_id
    assert (follow_up.state, follow_up.cancel_reason) == (
        FollowUpState.CANCELLED,
        "patient wrote again",
    )
    clock.advance(timedelta(minutes=5))  # the lease runs out: nobody sends it after all
    send_due_follow_ups(runtime)
    deliver(runtime)
    assert _follow_up_mails(smtp_server) == []


def test_unsubscribe_get_changes_nothing_then_post_cancels(client, runtime, clock, smtp_server):
    conversation_id = reply_sent(client, runtime)
    ack = next(r for r in smtp_server.received if "We have received" in str(r.parsed()["Subject"]))
    link = ack.parsed()["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("http://testserver")

    page = client.get(path)
    assert page.status_code == 200
    assert "Stop automatic e-mails?" in page.text and 'method="post"' in page.text
    assert follow_ups(runtime, conversation_id)[0].state == FollowUpState.SCHEDULED

    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    _nothing_sent_at_due_time(runtime, clock, smtp_server, conversation_id, "unsubscribed")


def test_closing_the_conversation_cancels_the_follow_up(client, runtime, clock, smtp_server):
    conversation_id = reply_sent(client, runtime)
    staff_member(runtime)
    sign_in(client, email="nurse@hospital.example")
    page = client.get(f"/inbox/conversations/{conversation_id}")
    closed = client.post(
        f"/inbox/conversations/{conversation_id}/close", data={"csrf_token": csrf_token(page.text)}
    )
    assert closed.status_code == 303
    [follow_up] = follow_ups(runtime, conversation_id)  # cancelled at once, by the close itself
    assert (follow_up.state, follow_up.cancel_reason) == (FollowUpState.CANCELLED, "closed")
    _nothing_sent_at_due_time(runtime, clock, smtp_server, conversation_id, "closed")


def test_permanent_failure_of_a_later_mail_cancels_the_follow_up(
    client, runtime, clock, smtp_server
):
    conversation_id = reply_sent(client, runtime)
    clock.advance(timedelta(hours=2))
    with session_scope(runtime.engine) as session:  # another mail to the address, which bounces
        enqueue_mail(
            session, settings=runtime.settings, kind=MailKind.ACKNOWLEDGEMENT, recipient=EMAIL,
            subject="We have received your message", text="Thank you.", html="<p>Thank you.</p>",
            send_after=clock.now(), now=clock.now(),
        )  # fmt: skip
    smtp_server.rcpt_script = ["550 5.1.1 mailbox unavailable"]
    deliver(runtime)
    assert mails(runtime, MailKind.ACKNOWLEDGEMENT)[-1].state == "failed"
    with session_scope(runtime.engine) as session:
        suppression = get_suppression(session, EMAIL)
        assert suppression is not None and suppression.reason == "bounced"
    _nothing_sent_at_due_time(runtime, clock, smtp_server, conversation_id, "failed")


def test_reply_that_bounces_schedules_no_follow_up(client, runtime, clock, smtp_server):
    conversation_id = int(submit(client)["conversation_id"])
    draft_new_messages(runtime)
    deliver(runtime)  # the acknowledgement
    approve(runtime, conversation_id)
    smtp_server.rcpt_script = ["550 5.1.1 mailbox unavailable"]
    deliver(runtime)
    send_due_follow_ups(runtime)
    assert follow_ups(runtime, conversation_id) == []
