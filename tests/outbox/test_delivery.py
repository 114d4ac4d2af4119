"""Delivery against a real SMTP server (aiosmtpd on a free port): outcomes, retries, attempts."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from datetime import timedelta

import pytest
from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations.models import Conversation, ConversationState
from inbox.db import session_scope
from inbox.outbox import service
from inbox.outbox.models import AttemptOutcome, MailKind, MailState
from inbox.outbox.sender import SmtpTarget
from tests.conftest import free_port
from tests.outbox.conftest import (
    HTML,
    TEXT,
    enqueue,
    enqueue_committed,
    load_mail,
    make_conversation,
    make_worker,
)
from tests.smtp import SmtpServer


def attempts_of(runtime, mail_id):
    with Session(runtime.engine) as session:
        return service.attempts_for_mail(session, mail_id)


async def test_sent_mail_has_its_headers_and_both_parts(outbox_runtime, worker, smtp_server):
    mail_id = enqueue_committed(
        outbox_runtime,
        recipient="Zoë Brontë <zoe@example.org>",
        subject="Ihre Frage an das Krankenhaus — Antwort",
        automatic=True,
        extra_headers={"List-Unsubscribe": "<https://hospital.example/u/abc>"},
    )
    assert await worker.drain() == 1

    [received] = smtp_server.received
    message = received.parsed()
    mail = load_mail(outbox_runtime, mail_id)
    assert received.recipients == ["zoe@example.org"]
    assert received.mail_from == "patient-service@kidney-hospital.example"
    assert message["Message-ID"] == mail.message_id
    assert mail.message_id.endswith("@kidney-hospital.example>")
    assert message["Subject"] == "Ihre Frage an das Krankenhaus — Antwort"
    assert message["To"].addresses[0].display_name == "Zoë Brontë"
    assert message["From"].addresses[0].addr_spec == "patient-service@kidney-hospital.example"
    assert message["Date"].datetime == outbox_runtime.clock.now()
    assert message["MIME-Version"] == "1.0"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == "<https://hospital.example/u/abc>"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT
    assert message.get_body(("html",)).get_content().strip() == HTML
    assert all(len(line) <= 998 for line in received.data.split(b"\r\n"))
    assert mail.state == MailState.SENT
    assert mail.sent_at == outbox_runtime.clock.now()
    assert mail.server_reply == "250 OK queued"
    [attempt] = attempts_of(outbox_runtime, mail_id)
    assert (attempt.outcome, attempt.code, attempt.worker) == ("sent", 250, worker.worker_id)


async def test_human_approved_reply_is_not_marked_auto_submitted(
    outbox_runtime, worker, smtp_server
):
    enqueue_committed(outbox_runtime, automatic=False)
    await worker.drain()
    assert "Auto-Submitted" not in smtp_server.received[0].parsed()


async def test_mails_of_a_conversation_thread(outbox_runtime, worker, smtp_server):
    now = outbox_runtime.clock.now()
    with session_scope(outbox_runtime.engine) as session:
        conversation = make_conversation(session, now=now)
        first = enqueue(
            session,
            outbox_runtime,
            conversation_id=conversation.id,
            kind=MailKind.ACKNOWLEDGEMENT,
            automatic=True,
        )
        second = enqueue(session, outbox_runtime, conversation_id=conversation.id)
        third = enqueue(
            session,
            outbox_runtime,
            conversation_id=conversation.id,
            kind=MailKind.FOLLOW_UP,
            automatic=True,
        )
        ids = [first.message_id, second.message_id, third.message_id]
    await worker.drain()

    by_id = {str(r.parsed()["Message-ID"]): r.parsed() for r in smtp_server.received}
    assert "In-Reply-To" not in by_id[ids[0]]
    assert by_id[ids[1]]["In-Reply-To"] == ids[0]
    assert by_id[ids[1]]["References"] == ids[0]
    assert by_id[ids[2]]["In-Reply-To"] == ids[1]
    assert by_id[ids[2]]["References"].split() == ids[:2]


async def test_temporary_failures_are_retried_until_sent(
    outbox_runtime, worker, smtp_server, clock
):
    smtp_server.script = ["421 4.3.2 service shutting down", "451 4.3.0 local error"]
    mail_id = enqueue_committed(outbox_runtime)

    await worker.drain()
    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.attempts) == (MailState.QUEUED, 1)
    assert 45 <= (mail.send_after - clock.now()).total_seconds() <= 75  # 60 s ± 25 % jitter
    assert await worker.drain() == 0  # not due yet

    clock.advance(timedelta(minutes=2))
    await worker.drain()
    assert load_mail(outbox_runtime, mail_id).attempts == 2
    clock.advance(timedelta(minutes=5))
    await worker.drain()

    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.attempts) == (MailState.SENT, 3)
    assert len(smtp_server.received) == 1
    attempts = attempts_of(outbox_runtime, mail_id)
    assert [(a.outcome, a.code) for a in attempts] == [
        ("retry", 421),
        ("retry", 451),
        ("sent", 250),
    ]
    assert attempts[0].text == "4.3.2 service shutting down"


async def test_server_retry_hint_is_honoured(outbox_runtime, worker, smtp_server, clock):
    smtp_server.script = ["451 4.7.1 Greylisted, please try again in 600 seconds"]
    mail_id = enqueue_committed(outbox_runtime)
    await worker.drain()
    assert load_mail(outbox_runtime, mail_id).send_after == clock.now() + timedelta(seconds=600)


async def test_permanent_failure_fails_at_once(outbox_runtime, worker, smtp_server, clock):
    smtp_server.script = ["550 5.1.1 mailbox unavailable"]
    with session_scope(outbox_runtime.engine) as session:
        conversation_id = make_conversation(session, now=clock.now()).id
        mail_id = enqueue(session, outbox_runtime, conversation_id=conversation_id).id
    await worker.drain()

    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.attempts) == (MailState.FAILED, 1)
    assert mail.last_error == "550 5.1.1 mailbox unavailable"
    assert mail.failed_at == clock.now()
    assert smtp_server.received == []
    with Session(outbox_runtime.engine) as session:
        assert session.get(Conversation, conversation_id).state == ConversationState.FAILED


async def test_every_recipient_refused_fails_at_once(outbox_runtime, worker, smtp_server):
    smtp_server.rcpt_script = ["550 5.1.1 no such user"]
    mail_id = enqueue_committed(outbox_runtime)
    await worker.drain()
    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.last_error) == (MailState.FAILED, "550 5.1.1 no such user")


async def test_connection_dropped_mid_data_is_retried(outbox_runtime, worker, smtp_server, clock):
    smtp_server.script = ["drop"]
    first = enqueue_committed(outbox_runtime)
    second = enqueue_committed(outbox_runtime)
    await worker.drain()
    clock.advance(timedelta(hours=1))
    await worker.drain()

    for mail_id in (first, second):
        assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
    outcomes = sorted(a.outcome for m in (first, second) for a in attempts_of(outbox_runtime, m))
    assert outcomes == ["retry", "sent", "sent"]
    assert sorted(smtp_server.message_ids()) == sorted(
        load_mail(outbox_runtime, m).message_id for m in (first, second)
    )


async def test_server_down_then_up(outbox_runtime, clock):
    port = free_port()
    worker = make_worker(outbox_runtime, target=SmtpTarget(host="127.0.0.1", port=port, timeout=1))
    mail_id = enqueue_committed(outbox_runtime)
    await worker.drain()
    mail = load_mail(outbox_runtime, mail_id)
    assert (mail.state, mail.attempts) == (MailState.QUEUED, 1)
    [attempt] = attempts_of(outbox_runtime, mail_id)
    assert attempt.outcome == "retry" and attempt.code is None and attempt.text

    server = SmtpServer(port=port)
    server.start()
    try:
        clock.advance(timedelta(hours=1))
        await worker.drain()
        assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
        assert len(server.received) == 1
    finally:
        server.stop()


async def test_server_slower_than_the_data_wait_is_retried(outbox_runtime, smtp_server, clock):
    target = SmtpTarget(
        host=smtp_server.host, port=smtp_server.port, timeout=0.3, send_timeout=1, data_timeout=0.5
    )
    worker = make_worker(outbox_runtime, target=target)
    smtp_server.delay = 1.0
    mail_id = enqueue_committed(outbox_runtime)
    await worker.drain()
    [attempt] = attempts_of(outbox_runtime, mail_id)
    assert attempt.outcome == "retry" and "timeout" in attempt.text.lower()
    assert load_mail(outbox_runtime, mail_id).state == MailState.QUEUED

    smtp_server.delay = 0
    clock.advance(timedelta(hours=1))
    await worker.drain()
    assert load_mail(outbox_runtime, mail_id).state == MailState.SENT


async def test_end_of_data_reply_slower_than_the_command_timeout_is_waited_for(
    outbox_runtime, smtp_server
):
    """A relay that takes its time to accept the mail has taken it: giving up at the command
    timeout and sending it again would deliver it twice."""
    target = SmtpTarget(
        host=smtp_server.host, port=smtp_server.port, timeout=0.3, send_timeout=0.6, data_timeout=5
    )
    worker = make_worker(outbox_runtime, target=target)
    smtp_server.delay = 1.2  # longer than the command timeout and the whole-send timeout
    mail_id = enqueue_committed(outbox_runtime)
    await worker.drain()
    [attempt] = attempts_of(outbox_runtime, mail_id)
    assert attempt.outcome == "sent" and attempt.code == 250
    assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
    assert len(smtp_server.received) == 1


def test_the_data_wait_is_ten_minutes_unless_configured(monkeypatch):
    assert SmtpTarget.from_settings(Settings(_env_file=None)).data_timeout == 600
    monkeypatch.setenv("INBOX_SMTP_DATA_TIMEOUT", "120")
    assert SmtpTarget.from_settings(Settings(_env_file=None)).data_timeout == 120


async def test_unbuildable_mail_fails_alone_and_the_others_go(outbox_runtime, worker, smtp_server):
    good = enqueue_committed(outbox_runtime)
    with session_scope(outbox_runtime.engine) as session:
        bad = enqueue(session, outbox_runtime, subject="Re: cramps\r\nBcc: everyone@example.org")
        worse = enqueue(session, outbox_runtime, subject="cramps \udcff")
        assert bad.state == worse.state == MailState.FAILED
        bad_id, worse_id = bad.id, worse.id
    also_good = enqueue_committed(outbox_runtime)
    await worker.drain()

    assert {load_mail(outbox_runtime, m).state for m in (good, also_good)} == {MailState.SENT}
    assert len(smtp_server.received) == 2
    for mail_id in (bad_id, worse_id):
        mail = load_mail(outbox_runtime, mail_id)
        assert mail.state == MailState.FAILED and mail.raw is None
        assert mail.last_error.startswith("cannot build the message")
        [attempt] = attempts_of(outbox_runtime, mail_id)
        assert attempt.outcome == AttemptOutcome.FAILED
    assert "line break" in load_mail(outbox_runtime, bad_id).last_error


async def test_mail_fails_once_the_retry_budget_is_spent(outbox_runtime, smtp_server, clock):
    outbox_runtime.settings.retry_budget = "2h"
    worker = make_worker(outbox_runtime)
    smtp_server.script = ["451 4.3.0 busy"] * 20
    mail_id = enqueue_committed(outbox_runtime)
    for _ in range(10):
        await worker.drain()
        clock.advance(timedelta(hours=1))
    mail = load_mail(outbox_runtime, mail_id)
    assert mail.state == MailState.FAILED
    assert mail.last_error.startswith("retry budget spent; last: 451")
    assert 2 <= mail.attempts <= 4
    assert len(attempts_of(outbox_runtime, mail_id)) == mail.attempts


async def test_sent_reply_moves_its_conversation_to_sent(
    outbox_runtime, worker, smtp_server, clock
):
    with session_scope(outbox_runtime.engine) as session:
        conversation_id = make_conversation(session, now=clock.now()).id
        enqueue(session, outbox_runtime, conversation_id=conversation_id)
    clock.advance(timedelta(minutes=3))
    await worker.drain()
    with Session(outbox_runtime.engine) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation.state == ConversationState.SENT
        assert conversation.first_reply_at == clock.now()


async def test_connections_are_reused_up_to_the_cap(outbox_runtime, smtp_server):
    target = SmtpTarget(host=smtp_server.host, port=smtp_server.port, mails_per_connection=2)
    for _ in range(5):
        enqueue_committed(outbox_runtime)
    await make_worker(outbox_runtime, target=target, concurrency=1).drain()
    assert len(smtp_server.received) == 5
    assert smtp_server.connections == 3  # 2 + 2 + 1


async def test_address_with_non_ascii_local_part_is_sent_with_smtputf8(
    outbox_runtime, worker, smtp_server
):
    mail_id = enqueue_committed(outbox_runtime, recipient="Zoë <zoë@example.org>")
    await worker.drain()
    assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
    [received] = smtp_server.received
    # aiosmtpd hands over the RCPT address as surrogate-escaped UTF-8 bytes
    wire = received.recipients[0].encode("utf-8", "surrogateescape").decode("utf-8")
    assert wire == "zoë@example.org"
    assert "To: Zoë <zoë@example.org>\r\n".encode() in received.data  # UTF-8 header, no RFC 2047


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server
async def test_worker_logs_in_when_a_username_is_set_and_retries_on_a_refused_login(
    outbox_runtime, clock
):
    server = SmtpServer(port=free_port(), credentials=("inbox", "s3cret"))
    server.start()
    try:
        wrong = SmtpTarget(host=server.host, port=server.port, username="inbox", password="nope")
        mail_id = enqueue_committed(outbox_runtime)
        await make_worker(outbox_runtime, target=wrong).drain()
        [attempt] = attempts_of(outbox_runtime, mail_id)
        assert (attempt.outcome, attempt.code) == ("retry", 535)
        assert load_mail(outbox_runtime, mail_id).state == MailState.QUEUED

        right = SmtpTarget(host=server.host, port=server.port, username="inbox", password="s3cret")
        clock.advance(timedelta(hours=1))
        await make_worker(outbox_runtime, target=right).drain()
        assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
        assert len(server.received) == 1
    finally:
        server.stop()


@pytest.fixture
def server_tls(tmp_path) -> ssl.SSLContext:
    """A server-side TLS context with a throw-away self-signed certificate (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_starttls_is_used_when_configured(outbox_runtime, server_tls):
    server = SmtpServer(port=free_port(), starttls=server_tls)
    server.start()
    try:
        plain = SmtpTarget(host=server.host, port=server.port, starttls=False)
        mail_id = enqueue_committed(outbox_runtime)
        await make_worker(outbox_runtime, target=plain).drain()
        [refused] = attempts_of(outbox_runtime, mail_id)
        assert refused.code == 530  # the server requires STARTTLS first

        secured = SmtpTarget(
            host=server.host, port=server.port, starttls=True, validate_certs=False
        )
        outbox_runtime.clock.advance(timedelta(hours=1))
        await make_worker(outbox_runtime, target=secured).drain()
        assert load_mail(outbox_runtime, mail_id).state == MailState.SENT
        assert len(server.received) == 1
    finally:
        server.stop()
