"""Bounces after the relay accepted a mail: each mail goes out with its own VERP envelope sender;
a delivery-status report marks the mail bounced and suppresses the address (hard) or notes a
delay (soft)."""

from __future__ import annotations

import smtplib

from fastapi.testclient import TestClient
from sqlmodel import Session

from inbox.followups.models import FollowUpState, Suppression, SuppressionReason
from inbox.inbound.models import BounceSeverity, InboundKind
from inbox.inbound.process import process_pending
from inbox.outbox.addresses import bounce_address
from inbox.outbox.models import MailKind, OutboxMail
from inbox.runtime import Runtime
from tests.followups.support import EMAIL, follow_ups, mails, reply_sent
from tests.inbound.conftest import RunningListener
from tests.inbound.support import inbound_mails, mail_to
from tests.smtp import SmtpServer

SERVICE = "patient-service@kidney-hospital.example"


def dsn(*, original_message_id: str, recipient: str, action: str, status: str) -> bytes:
    boundary = "dsn-boundary-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\n"
        "To: whoever@kidney-hospital.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-" + status + "@relay.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_message_id}\r\nTo: {recipient}\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def send_dsn(
    runtime: Runtime, port: int, mail: OutboxMail, *, action: str = "failed",
    status: str = "5.1.1", verp: bool = True,
) -> None:  # fmt: skip
    """A relay's report about `mail` handed over LMTP (to its VERP address, or to the service's
    own address as a relay that ignores VERP sends it), then processed."""
    report = dsn(original_message_id=mail.message_id, recipient=EMAIL, action=action,
                 status=status)  # fmt: skip
    to = bounce_address(runtime.settings, mail.id or 0) if verp else SERVICE
    with smtplib.LMTP("127.0.0.1", port) as lmtp:
        lmtp.sendmail("", [to], report)
    process_pending(runtime)


def test_every_mail_goes_out_with_its_own_verp_sender(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer
):
    reply_sent(client, runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    received = mail_to(smtp_server, EMAIL, "Re: ")
    assert received.mail_from == bounce_address(runtime.settings, reply.id or 0)


def test_a_hard_bounce_marks_the_mail_and_suppresses_the_address(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(client, runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    send_dsn(runtime, lmtp_listener.port, reply, action="failed", status="5.1.1")

    [inbound] = inbound_mails(runtime)
    assert inbound.kind == InboundKind.BOUNCE and inbound.bounce == BounceSeverity.HARD
    assert inbound.bounce_mail_id == reply.id and inbound.conversation_id == conversation_id
    with Session(runtime.engine) as session:
        entry = session.get(Suppression, EMAIL)
    assert entry is not None and entry.reason == SuppressionReason.BOUNCED
    assert [f.state for f in follow_ups(runtime, conversation_id)] == [FollowUpState.CANCELLED]


def test_a_report_without_verp_is_matched_by_the_message_id_it_quotes(
    client: TestClient, runtime: Runtime, lmtp_listener: RunningListener
):
    reply_sent(client, runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    send_dsn(runtime, lmtp_listener.port, reply, action="failed", status="5.1.1", verp=False)
    [inbound] = inbound_mails(runtime)
    assert inbound.bounce_mail_id == reply.id and inbound.bounce == BounceSeverity.HARD


def test_a_delay_notice_is_noted_and_suppresses_nothing(
    client: TestClient, runtime: Runtime, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(client, runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    send_dsn(runtime, lmtp_listener.port, reply, action="delayed", status="4.4.7")
    [inbound] = inbound_mails(runtime)
    assert inbound.bounce == BounceSeverity.SOFT and inbound.bounce_mail_id == reply.id
    with Session(runtime.engine) as session:
        assert session.get(Suppression, EMAIL) is None
    assert [f.state for f in follow_ups(runtime, conversation_id)] == [FollowUpState.SCHEDULED]
