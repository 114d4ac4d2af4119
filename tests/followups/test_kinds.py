"""Non-clinical kinds get their own reply and no clinical follow-up; staff's kind wins and
rebuilds a draft nobody edited."""

from __future__ import annotations

from datetime import timedelta

from inbox.conversations.models import Conversation
from inbox.db import session_scope
from inbox.drafting import service as drafting
from inbox.followups.delivery import send_due_follow_ups
from inbox.worker import draft_new_messages
from tests.followups.support import approve, deliver, follow_ups, reply_sent, submit
from tests.staff.factories import csrf_token, make_staff, sign_in

BILLING = "Hello, I received an invoice for my husband's last visit and we were charged twice."


def _draft_and_kind(runtime, conversation_id: int):
    with session_scope(runtime.engine) as session:
        draft = drafting.get_draft(session, conversation_id=conversation_id)
        conversation = session.get(Conversation, conversation_id)
        assert draft is not None and conversation is not None
        return " ".join(draft.text_body.split()), draft.section_ids, conversation.kind


def test_a_billing_question_gets_the_billing_reply_and_no_follow_up(
    client, runtime, clock, smtp_server
):
    conversation_id = reply_sent(client, runtime, subject="Invoice", message=BILLING)
    text, sections, kind = _draft_and_kind(runtime, conversation_id)
    assert kind == "billing" and sections == []
    assert "about a bill or a payment" in text
    assert "never send card or bank details" in text
    assert follow_ups(runtime, conversation_id) == []
    clock.advance(timedelta(days=8))
    send_due_follow_ups(runtime)
    deliver(runtime)
    assert not [
        item for item in smtp_server.received
        if "has the problem eased" in item.parsed().get_body(("plain",)).get_content()
        or "kidney doctor" in item.parsed().get_body(("plain",)).get_content()
    ]  # fmt: skip


def test_a_clinical_question_still_gets_its_follow_up(client, runtime):
    conversation_id = reply_sent(client, runtime)
    assert len(follow_ups(runtime, conversation_id)) == 1
    assert _draft_and_kind(runtime, conversation_id)[2] == "clinical"


def test_thanks_get_a_complete_reply_nobody_has_to_write(client, runtime):
    conversation_id = int(
        submit(client, subject="Thank you", message="Thank you for the article, very helpful.")[
            "conversation_id"
        ]
    )
    draft_new_messages(runtime)
    text, _, kind = _draft_and_kind(runtime, conversation_id)
    assert kind == "thanks"
    assert "We have shared it with the team" in text
    assert "[" not in text.split("Your message")[0]  # no placeholder for staff to fill in


def test_staff_change_the_kind_and_the_draft_follows(client, runtime):
    conversation_id = int(submit(client, subject="Invoice", message=BILLING)["conversation_id"])
    draft_new_messages(runtime)
    staff = make_staff(runtime)
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/inbox").text)
    changed = client.post(
        f"/inbox/conversations/{conversation_id}/kind",
        data={"kind": "appointment", "csrf_token": token},
    )
    assert changed.status_code == 303
    text, _, kind = _draft_and_kind(runtime, conversation_id)
    assert kind == "appointment" and "about an appointment" in text
    page = client.get(f"/inbox/conversations/{conversation_id}").text
    assert "Appointment, as staff chose" in page
    # triage never overrides staff: the patient writes again about the bill
    submit(client, subject="Invoice", message=BILLING + " Please refund one payment.")
    draft_new_messages(runtime)
    assert _draft_and_kind(runtime, conversation_id)[2] == "appointment"
    approve(runtime, conversation_id)
