"""Automatic mail cannot be turned against a third party: it greets only with what looks like a
name, and all addresses together get at most INBOX_AUTOMATIC_MAILS_PER_HOUR of it; what is over
the cap is held where staff see it, and a staff re-send honours the suppression list."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from inbox.cli import app as cli
from inbox.followups.delivery import send_due_follow_ups
from inbox.outbox.models import MailKind, MailState
from inbox.worker import draft_new_messages
from tests.followups.support import deliver, mails, reply_sent, submit
from tests.staff.factories import csrf_token, make_staff, sign_in

HOSTILE_NAMES = [
    "WIN $500 NOW at https://evil.example/claim",
    "Claim your prize at evil.example",
    "www.prize-draw.example",
    "write to prizes@evil.example",
    "<a href=x>Click here</a>",
    "Call 0800 123 4567 today",
    "Urgent account notice from your bank",  # more words than a name has
]


def _text(received) -> str:
    return " ".join(received.parsed().get_body(("plain",)).get_content().split())


def _whole(received) -> str:
    message = received.parsed()
    return _text(received) + message.get_body(("html",)).get_content()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_acknowledgement_never_repeats_a_name_that_is_not_a_name(
    client, runtime, smtp_server, name
):
    submit(client, name=name, email="victim@example.org")
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = smtp_server.received
    assert ack.recipients == ["victim@example.org"]
    text = _text(ack)
    assert "Hello," in text and "Dear" not in text
    whole = _whole(ack)
    for fragment in ("evil.example", "500", "prize", "Click", "0800", "bank"):
        assert fragment not in whole


@pytest.mark.parametrize(
    "name", ["Karim Haddad", "Anne-Marie O'Brien", "José María", "Nguyễn Thị Minh"]
)
def test_acknowledgement_greets_a_real_name(client, runtime, smtp_server, name):
    submit(client, name=name)
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = smtp_server.received
    assert f"Dear {name}," in _text(ack)


def test_follow_up_greets_without_a_link_given_as_the_name(client, runtime, clock, smtp_server):
    reply_sent(client, runtime, name="Prize at https://evil.example/x")
    smtp_server.received.clear()
    clock.advance(timedelta(days=8))
    send_due_follow_ups(runtime)
    deliver(runtime)
    [follow_up] = smtp_server.received
    assert follow_up.parsed()["List-Unsubscribe"]  # the follow-up, not the reply
    assert "evil.example" not in _whole(follow_up)
    assert "Hello," in _text(follow_up)


def _flood(client, count: int, *, start: int = 0) -> None:
    for index in range(start, start + count):
        submit(
            client,
            email=f"target{index}@example.org",
            message=f"Question number {index} about cramps.",
        )


def test_automatic_mail_over_the_hourly_cap_is_held_for_staff(client, runtime, smtp_server, clock):
    runtime.settings.automatic_mails_per_hour = 3
    _flood(client, 5)
    draft_new_messages(runtime)
    deliver(runtime)
    assert len(smtp_server.received) == 3  # five acknowledgements asked for, three sent
    held = [
        mail for mail in mails(runtime, MailKind.ACKNOWLEDGEMENT) if mail.state == MailState.HELD
    ]
    assert len(held) == 2

    make_staff(runtime)
    assert sign_in(client, email="nurse@hospital.example").status_code == 303
    page = client.get("/outbox/failures")
    assert re.search(r"<strong>2</strong> held by the hourly cap", page.text)
    assert page.text.count("Held: over the cap of 3 automatic mails an hour.") == 2

    response = client.post(
        f"/outbox/mails/{held[0].id}/retry", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 303
    deliver(runtime)
    assert len(smtp_server.received) == 4  # staff sent one of the held ones
    page = client.get("/outbox/failures")
    response = client.post(
        f"/outbox/mails/{held[1].id}/cancel", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 303
    assert "<strong>0</strong> held" in client.get(response.headers["location"]).text

    clock.advance(timedelta(hours=1))  # a new hour, a new allowance
    _flood(client, 2, start=10)
    draft_new_messages(runtime)
    deliver(runtime)
    assert len(smtp_server.received) == 6


def test_staff_alert_is_never_held_by_the_cap(client, runtime, smtp_server):
    runtime.settings.automatic_mails_per_hour = 1
    _flood(client, 1)
    submit(
        client,
        email="ill@example.org",
        message="Since dialysis I have crushing chest pain and I cannot breathe properly.",
    )
    draft_new_messages(runtime)
    deliver(runtime)
    alerts = [
        item for item in smtp_server.received if item.recipients == ["duty-nurse@hospital.example"]
    ]
    assert len(alerts) == 1


def test_the_cap_holds_across_parallel_workers(client, runtime, smtp_server):
    runtime.settings.automatic_mails_per_hour = 5
    runtime.settings.worker_batch_size = 2
    _flood(client, 16)

    def worker(_: int) -> None:
        for _round in range(20):  # bounded: 16 messages, two a batch
            if not draft_new_messages(runtime):
                return

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    acks = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert len(acks) == 16
    assert sum(mail.state == MailState.QUEUED for mail in acks) == 5
    deliver(runtime)
    assert len(smtp_server.received) == 5


def test_staff_resend_of_a_failed_acknowledgement_honours_an_unsubscribe_since(
    client, runtime, smtp_server
):
    smtp_server.script = ["550 mailbox unavailable"]
    submit(client, email="changed.mind@example.org")
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert ack.state == MailState.FAILED
    unsubscribe = re.search(r"/unsubscribe/[^\s>\"]+", ack.text_body)
    assert unsubscribe
    assert client.post(unsubscribe.group(0)).status_code in (200, 303)

    make_staff(runtime)
    sign_in(client, email="nurse@hospital.example")
    page = client.get("/outbox/failures")
    response = client.post(
        f"/outbox/mails/{ack.id}/retry", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 303
    assert "asked for no automatic mail" in client.get(response.headers["location"]).text
    deliver(runtime)
    assert smtp_server.received == []
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert ack.state == MailState.CANCELLED


def test_the_retry_command_also_honours_an_unsubscribe_since(
    client, runtime, smtp_server, monkeypatch
):
    smtp_server.script = ["550 mailbox unavailable"]
    submit(client, email="changed.mind@example.org")
    draft_new_messages(runtime)
    deliver(runtime)
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    unsubscribe = re.search(r"/unsubscribe/[^\s>\"]+", ack.text_body)
    assert unsubscribe and client.post(unsubscribe.group(0)).status_code == 200

    monkeypatch.setenv("INBOX_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("INBOX_SECRET_KEY", runtime.settings.secret_key)
    result = CliRunner().invoke(cli, ["mail", "retry", str(ack.id)])
    assert result.exit_code == 0, result.output
    assert "was cancelled instead: the address gets no automatic mail" in result.output
    [ack] = mails(runtime, MailKind.ACKNOWLEDGEMENT)
    assert ack.state == MailState.CANCELLED
