"""A patient's reply handed over LMTP by an MTA (smtplib.LMTP) comes back into its conversation;
the listener is no open relay, caps sizes, drops re-deliveries and answers 451 when it cannot
store."""

from __future__ import annotations

import smtplib

import pytest
from fastapi.testclient import TestClient

from inbox.conversations.models import ConversationState, MessageChannel
from inbox.followups.models import FollowUpState
from inbox.inbound.models import InboundKind, InboundState
from inbox.inbound.process import process_pending
from inbox.inbound.receiver import start_inbound_listener
from inbox.inbound.replies import build_reply
from inbox.outbox.models import MailKind
from inbox.runtime import Runtime, build_runtime
from tests.followups.support import EMAIL, deliver, follow_ups, mails, reply_sent
from tests.inbound.conftest import RunningListener
from tests.inbound.support import conversation, inbound_mails, mail_to, messages, plain_mail
from tests.smtp import SmtpServer


def hand_over(port: int, raw: bytes, *, sender: str, recipient: str) -> dict:
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        return lmtp.sendmail(sender, [recipient], raw)


def the_reply_we_sent(server: SmtpServer):
    return mail_to(server, EMAIL, "Re: ")


def test_a_reply_over_lmtp_reopens_the_conversation_and_cancels_the_follow_up(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(client, runtime)
    assert conversation(runtime, conversation_id).state == ConversationState.SENT
    assert [f.state for f in follow_ups(runtime, conversation_id)] == [FollowUpState.SCHEDULED]
    ours = the_reply_we_sent(smtp_server)
    raw, patient, answer_to = build_reply(ours.data, text="Thank you, the cramps are a bit better.")
    assert answer_to.startswith(f"reply+{conversation_id}.")

    assert hand_over(lmtp_listener.port, raw, sender=patient, recipient=answer_to) == {}
    assert process_pending(runtime) == 1

    assert conversation(runtime, conversation_id).state == ConversationState.REVIEW
    assert [f.state for f in follow_ups(runtime, conversation_id)] == [FollowUpState.CANCELLED]
    newest = messages(runtime, conversation_id)[-1]
    assert newest.channel == MessageChannel.EMAIL
    assert newest.body == "Thank you, the cramps are a bit better."  # quote stripped
    assert newest.drafted_at is None  # the drafting job re-drafts the reply for it
    [inbound] = inbound_mails(runtime)
    assert inbound.kind == InboundKind.PERSON and inbound.matched_by == "reply-address"
    assert "> " in (inbound.text or "")  # the whole text is kept
    assert [m.kind for m in mails(runtime, MailKind.ACKNOWLEDGEMENT)] == [
        MailKind.ACKNOWLEDGEMENT
    ]  # only the first message's: no acknowledgement for a reply in the thread


def test_chest_pain_in_a_reply_alerts_staff_at_once(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(client, runtime)
    ours = the_reply_we_sent(smtp_server)
    raw, patient, answer_to = build_reply(
        ours.data, text="The cramps are worse and now I have chest pain, it is crushing."
    )
    hand_over(lmtp_listener.port, raw, sender=patient, recipient=answer_to)
    process_pending(runtime)

    assert conversation(runtime, conversation_id).urgent
    deliver(runtime)
    alert = mail_to(smtp_server, "duty-nurse@hospital.example")
    assert f"/inbox/conversations/{conversation_id}" in alert.data.decode()
    assert "crushing" not in alert.data.decode()  # never the patient's words
    assert [f.state for f in follow_ups(runtime, conversation_id)] == [FollowUpState.CANCELLED]


def test_a_wrong_strip_cannot_hide_an_emergency(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener
):
    """The emergency sits below a line that looks like a signature delimiter."""
    conversation_id = reply_sent(client, runtime)
    ours = the_reply_we_sent(smtp_server)
    raw, patient, answer_to = build_reply(
        ours.data, text="Thanks.\n-- \nPS: since this morning I have crushing chest pain."
    )
    hand_over(lmtp_listener.port, raw, sender=patient, recipient=answer_to)
    process_pending(runtime)
    [inbound] = inbound_mails(runtime)
    assert "chest pain" not in (inbound.new_text or "")
    assert inbound.urgent and conversation(runtime, conversation_id).urgent


def test_our_own_emergency_advice_quoted_back_is_not_an_emergency(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(
        client, runtime, message="I have crushing chest pain since dialysis."
    )
    alerts = len(mails(runtime, MailKind.STAFF_ALERT))
    ours = the_reply_we_sent(smtp_server)
    raw, patient, answer_to = build_reply(ours.data, text="Thank you, all is well now.")
    hand_over(lmtp_listener.port, raw, sender=patient, recipient=answer_to)
    process_pending(runtime)
    [inbound] = inbound_mails(runtime)
    assert not inbound.urgent
    assert conversation(runtime, conversation_id).state == ConversationState.REVIEW
    assert len(mails(runtime, MailKind.STAFF_ALERT)) == alerts  # no second alert


def test_an_out_of_office_reply_changes_nothing(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(client, runtime)
    ours = the_reply_we_sent(smtp_server)
    _, patient, answer_to = build_reply(ours.data, text="")
    raw = plain_mail(
        sender=patient,
        to=answer_to,
        subject="Automatic reply: away until Monday",
        text="I am out of the office and have chest pain medication with me.",
        Auto_Submitted="auto-replied",
        In_Reply_To=ours.parsed()["Message-ID"],
    )
    hand_over(lmtp_listener.port, raw, sender=patient, recipient=answer_to)
    before = len(mails(runtime))
    process_pending(runtime)

    assert conversation(runtime, conversation_id).state == ConversationState.SENT
    assert not conversation(runtime, conversation_id).urgent
    assert [f.state for f in follow_ups(runtime, conversation_id)] == [FollowUpState.SCHEDULED]
    assert len(mails(runtime)) == before  # no acknowledgement, no alert
    [inbound] = inbound_mails(runtime)
    assert inbound.kind == InboundKind.AUTOMATIC
    assert inbound.conversation_id == conversation_id  # shown with the conversation


def test_the_listener_is_no_open_relay(runtime: Runtime, lmtp_listener: RunningListener):
    raw = plain_mail(sender="someone@example.net", to="victim@example.org")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        hand_over(
            lmtp_listener.port, raw, sender="someone@example.net", recipient="victim@example.org"
        )
    [(code, _)] = refused.value.recipients.values()
    assert code == 550
    assert inbound_mails(runtime) == []


def test_mail_to_the_service_address_opens_a_new_conversation_and_is_acknowledged(
    runtime: Runtime, lmtp_listener: RunningListener
):
    raw = plain_mail(
        sender="Amal <amal@example.net>",
        to="patient-service@kidney-hospital.example",
        subject="question",
        text="Why do my legs cramp at the end of dialysis?",
    )
    hand_over(
        lmtp_listener.port,
        raw,
        sender="amal@example.net",
        recipient="patient-service@kidney-hospital.example",
    )
    process_pending(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.matched_by == "new" and inbound.conversation_id is not None
    assert conversation(runtime, inbound.conversation_id).state == ConversationState.REVIEW
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert ack.recipient == "amal@example.net"


def test_a_mail_over_the_size_cap_is_refused_with_552(lmtp_listener: RunningListener, runtime):
    raw = plain_mail(
        sender="a@example.net", to="patient-service@kidney-hospital.example", text="x" * 300_000
    )
    # announced by SIZE, the listener refuses it at MAIL FROM already
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        hand_over(
            lmtp_listener.port,
            raw,
            sender="a@example.net",
            recipient="patient-service@kidney-hospital.example",
        )
    assert refused.value.smtp_code == 552
    assert inbound_mails(runtime) == []


def test_a_redelivered_mail_is_stored_once(lmtp_listener: RunningListener, runtime: Runtime):
    raw = plain_mail(sender="a@example.net", to="patient-service@kidney-hospital.example")
    for _ in range(2):
        hand_over(
            lmtp_listener.port,
            raw,
            sender="a@example.net",
            recipient="patient-service@kidney-hospital.example",
        )
    assert len(inbound_mails(runtime)) == 1


def test_451_when_the_mail_cannot_be_stored_so_the_mta_retries(settings, clock, tmp_path):
    broken = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path}/not-migrated.db"})
    runtime = build_runtime(broken, clock=clock)
    running = RunningListener(runtime, lmtp=True)
    running.start()
    try:
        raw = plain_mail(sender="a@example.net", to="patient-service@kidney-hospital.example")
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            hand_over(
                running.port,
                raw,
                sender="a@example.net",
                recipient="patient-service@kidney-hospital.example",
            )
        assert deferred.value.smtp_code == 451
    finally:
        running.stop()
        runtime.engine.dispose()


def test_plain_smtp_takes_replies_too(runtime: Runtime, smtp_listener: RunningListener):
    raw = plain_mail(sender="a@example.net", to="patient-service@kidney-hospital.example")
    with smtplib.SMTP("127.0.0.1", smtp_listener.port) as smtp:
        smtp.sendmail("a@example.net", ["patient-service@kidney-hospital.example"], raw)
    [inbound] = inbound_mails(runtime)
    assert inbound.source == "smtp" and inbound.state == InboundState.RECEIVED


async def test_a_second_process_on_the_same_port_runs_without_the_listener(runtime: Runtime):
    first = await start_inbound_listener(runtime)
    try:
        assert first is not None
        assert await start_inbound_listener(runtime) is None  # the port is taken: no crash
    finally:
        assert first is not None
        await first.stop()
