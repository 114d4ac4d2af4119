"""Acknowledgements (emergency advice when urgent, at most one an hour, never to spam), the
staff alert for an urgent message (a link, no patient words) and the daily digest."""

from __future__ import annotations

from datetime import timedelta

from inbox.notices.digest import digest_job
from inbox.outbox.models import MailKind
from inbox.worker import draft_new_messages
from tests.followups.support import EMAIL, URGENT, deliver, mails, submit

EMERGENCY_LINE = (
    "If this is an emergency (chest pain or pressure, struggling to breathe, a face, arm or "
    "speech that suddenly changes, heavy bleeding, a collapse or a fit), call 999 or your local "
    "emergency number now. Do not wait for our reply."
)


def _plain(received) -> str:
    """The text part with its line folding undone."""
    return " ".join(received.parsed().get_body(("plain",)).get_content().split())


def test_acknowledgement_confirms_receipt_with_unsubscribe_headers(client, runtime, smtp_server):
    submit(client)
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = smtp_server.received
    message = ack.parsed()
    assert ack.recipients == [EMAIL]
    assert "We have received your message" in message["Subject"]
    assert "two working days" in _plain(ack)
    assert "PLEASE READ THIS FIRST" not in _plain(ack)
    assert message["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_acknowledgement_of_a_routine_message_carries_the_emergency_line_in_both_parts(
    client, runtime, smtp_server
):
    assert submit(client)["urgent"] is False
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = smtp_server.received
    assert EMERGENCY_LINE in _plain(ack)
    html = ack.parsed().get_body(("html",)).get_content()
    line = " ".join(html.split("data-emergency-line", 1)[1].split("</p>", 1)[0].split())
    assert "chest pain or pressure, struggling to breathe" in line and "heavy bleeding" in line
    assert "call <strong>999</strong> or your local emergency number now" in line


def test_acknowledgement_of_an_urgent_message_says_to_seek_emergency_care(
    client, runtime, smtp_server
):
    assert submit(client, message=URGENT)["urgent"] is True
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = [item for item in smtp_server.received if item.recipients == [EMAIL]]
    text = _plain(ack)
    assert "PLEASE READ THIS FIRST" in text
    assert "emergency department straight away" in text
    assert EMERGENCY_LINE in text
    assert "chest" not in ack.parsed()["Subject"].lower()  # no health details in the subject


def test_at_most_one_acknowledgement_per_address_per_hour(client, runtime, clock):
    submit(client, message="First question: why do my legs cramp at the end of dialysis?")
    clock.advance(timedelta(minutes=20))
    submit(client, message="Second question: could it be the fluid they take off?")
    draft_new_messages(runtime)
    assert len(mails(runtime, MailKind.ACKNOWLEDGEMENT)) == 1
    clock.advance(timedelta(minutes=61))  # an hour after the first acknowledgement
    submit(client, message="Third question: should I ask about the sodium in the dialysate?")
    draft_new_messages(runtime)
    assert len(mails(runtime, MailKind.ACKNOWLEDGEMENT)) == 2


def test_no_acknowledgement_for_spam_or_a_duplicate_or_when_switched_off(client, runtime):
    spam = client.post(
        "/api/v1/messages",
        json={"name": "Bot", "email": "bot@example.net", "subject": "hi", "message": "cheap pills",
              "website": "http://spam.example"},
    )  # fmt: skip
    assert spam.status_code == 201
    submit(client)
    assert submit(client)["status"] == "duplicate"
    draft_new_messages(runtime)
    assert [mail.recipient for mail in mails(runtime, MailKind.ACKNOWLEDGEMENT)] == [EMAIL]

    runtime.settings.acknowledge = False
    submit(client, email="someone.else@example.org")
    draft_new_messages(runtime)
    assert len(mails(runtime, MailKind.ACKNOWLEDGEMENT)) == 1


def test_staff_alert_for_an_urgent_message_links_it_without_patient_words(
    client, runtime, smtp_server
):
    conversation_id = submit(client, message=URGENT, name="Karim Haddad")["conversation_id"]
    draft_new_messages(runtime)
    deliver(runtime)
    [alert] = [
        item for item in smtp_server.received if item.recipients == ["duty-nurse@hospital.example"]
    ]
    text = _plain(alert)
    assert f"http://testserver/inbox/conversations/{conversation_id}" in text
    assert "chest pain" in text  # the kind of emergency
    for patient_words in ("crushing", "cannot breathe", "Karim", EMAIL):
        assert patient_words not in alert.data.decode("utf-8", "replace")
    assert "Urgent message waiting" in alert.parsed()["Subject"]


def test_no_staff_alert_for_an_ordinary_message(client, runtime):
    submit(client)
    draft_new_messages(runtime)
    assert mails(runtime, MailKind.STAFF_ALERT) == []


def test_daily_digest_lists_conversations_waiting_too_long(client, runtime, clock, smtp_server):
    conversation_id = submit(client)["conversation_id"]
    draft_new_messages(runtime)
    assert digest_job(runtime) == 0  # the first run is planned for the next morning
    clock.advance(timedelta(hours=23))  # 09:00 the next day: past 08:00, waited 23 h
    assert digest_job(runtime) == 0
    assert mails(runtime, MailKind.DIGEST) == []
    clock.advance(timedelta(days=1))  # the morning after: waited 47 h
    assert digest_job(runtime) == 1
    assert digest_job(runtime) == 0  # once a day, whoever asks
    deliver(runtime)
    [digest] = [
        item for item in smtp_server.received if "waiting over 24 hours" in item.parsed()["Subject"]
    ]
    assert digest.recipients == ["duty-nurse@hospital.example"]
    assert f"/inbox/conversations/{conversation_id}" in _plain(digest)
    assert "Karim" not in digest.data.decode("utf-8", "replace")
