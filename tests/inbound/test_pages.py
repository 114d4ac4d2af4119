"""What staff see: the whole conversation in time order with the e-mail reply and the mails sent,
a bounce's "phone them", and the admin list of inbound mail that failed, with its retry."""

from __future__ import annotations

import smtplib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from inbox.inbound.models import InboundSource, InboundState
from inbox.inbound.process import process_pending
from inbox.inbound.replies import build_reply
from inbox.inbound.store import store_inbound
from inbox.outbox.models import MailKind
from inbox.runtime import Runtime
from inbox.staff.models import AuditEntry
from tests.followups.support import EMAIL, mails, reply_sent
from tests.inbound.conftest import RunningListener
from tests.inbound.support import inbound_mails, mail_to, plain_mail
from tests.inbound.test_bounces import send_dsn
from tests.smtp import SmtpServer
from tests.staff.factories import csrf_token, make_staff, sign_in


def test_the_conversation_page_shows_the_email_reply_and_the_mails_in_time_order(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, lmtp_listener: RunningListener,
    clock,
):  # fmt: skip
    conversation_id = reply_sent(client, runtime)
    clock.advance(timedelta(hours=5))
    raw, patient, answer_to = build_reply(
        mail_to(smtp_server, EMAIL, "Re: ").data, text="<b>Worse</b> since Monday."
    )
    with smtplib.LMTP("127.0.0.1", lmtp_listener.port) as lmtp:
        lmtp.sendmail(patient, [answer_to], raw)
    process_pending(runtime)
    sign_in(client, email="nurse@hospital.example")
    page = client.get(f"/inbox/conversations/{conversation_id}").text

    timeline = page[page.index('data-testid="timeline"') :]
    first_message = timeline.index('data-testid="timeline-message"')
    reply = timeline.index("the service sent a reply to")
    email_reply = timeline.index("wrote by e-mail")
    assert first_message < reply < email_reply
    assert "&lt;b&gt;Worse&lt;/b&gt; since Monday." in timeline  # escaped, never markup
    assert "The whole e-mail, quotes included" in timeline
    [sent] = mails(runtime, MailKind.REPLY)
    assert sent.text_body.splitlines()[0] in timeline  # the mail's own text


def test_a_hard_bounce_tells_staff_to_phone_the_patient(
    client: TestClient, runtime: Runtime, lmtp_listener: RunningListener
):
    conversation_id = reply_sent(client, runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    send_dsn(runtime, lmtp_listener.port, reply)
    sign_in(client, email="nurse@hospital.example")
    page = client.get(f"/inbox/conversations/{conversation_id}").text
    assert "A mail did not reach the patient — phone them." in page
    assert "bounced: it did not reach the patient" in page  # on the mail in the timeline


def test_an_admin_sees_failed_inbound_mail_and_retries_it(client: TestClient, runtime: Runtime):
    stored = store_inbound(
        runtime.engine, raw=b"Message-ID: <x@y>\r\nSubject: no sender\r\n\r\nhello\r\n",
        source=InboundSource.PIPE, envelope_from=None, recipients=[], now=runtime.clock.now(),
    )  # fmt: skip
    for _ in range(3):
        process_pending(runtime)
    [failed] = inbound_mails(runtime)
    assert failed.state == InboundState.FAILED
    make_staff(runtime, email="admin@hospital.example", admin=True)
    sign_in(client, email="admin@hospital.example")
    page = client.get("/admin/inbound")
    assert page.status_code == 200 and "no usable From address" in page.text

    refused = client.post(f"/admin/inbound/{stored.inbound_id}/retry", data={"csrf_token": "x"})
    assert refused.status_code == 403
    done = client.post(
        f"/admin/inbound/{stored.inbound_id}/retry", data={"csrf_token": csrf_token(page.text)}
    )
    assert done.status_code == 303
    [queued] = inbound_mails(runtime)
    assert queued.state == InboundState.RECEIVED and queued.error is None
    with Session(runtime.engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "inbound_retry"))
    assert entry.actor == "admin@hospital.example" and entry.target_id == str(stored.inbound_id)


def test_staff_who_are_not_admins_cannot_open_the_inbound_failures(
    client: TestClient, runtime: Runtime
):
    make_staff(runtime, email="someone@hospital.example")
    sign_in(client, email="someone@hospital.example")
    assert client.get("/admin/inbound").status_code == 403


def test_an_html_mail_is_shown_sanitised_in_a_sandboxed_frame(client: TestClient, runtime):
    raw = (
        b"From: Amal <amal@example.net>\r\nTo: patient-service@kidney-hospital.example\r\n"
        b"Subject: legs\r\nMessage-ID: <html2@example.net>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p onclick="steal()">My legs <b>cramp</b>.</p><script>alert(1)</script>'
        b'<img src="https://tracker.example/p.gif">'
    )
    stored = store_inbound(runtime.engine, raw=raw, source=InboundSource.PIPE, envelope_from=None,
                           recipients=[], now=runtime.clock.now())  # fmt: skip
    process_pending(runtime)
    [inbound] = inbound_mails(runtime)
    make_staff(runtime, email="nurse@hospital.example")
    sign_in(client, email="nurse@hospital.example")
    page = client.get(f"/inbox/conversations/{inbound.conversation_id}").text
    assert f'src="/inbox/inbound/{stored.inbound_id}/html"' in page
    frame = client.get(f"/inbox/inbound/{stored.inbound_id}/html")
    assert frame.status_code == 200 and "<b>cramp</b>" in frame.text
    assert "<script" not in frame.text and "onclick" not in frame.text and "<img" not in frame.text
    assert "sandbox" in frame.headers["content-security-policy"]
    client.cookies.clear()
    assert client.get(f"/inbox/inbound/{stored.inbound_id}/html").status_code in (303, 401)


def test_a_strangers_reply_is_flagged_on_the_page(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer
):
    conversation_id = reply_sent(client, runtime)
    reply_to = str(mail_to(smtp_server, EMAIL, "Re: ").parsed()["Reply-To"])
    raw = plain_mail(sender="Sara <daughter@example.org>", to=reply_to, text="Dad is worse.")
    store_inbound(runtime.engine, raw=raw, source=InboundSource.PIPE, envelope_from=None,
                  recipients=[reply_to], now=runtime.clock.now())  # fmt: skip
    process_pending(runtime)
    sign_in(client, email="nurse@hospital.example")
    page = client.get(f"/inbox/conversations/{conversation_id}").text
    assert 'data-testid="foreign-sender"' in page and "daughter@example.org" in page
    assert f"the reply goes to {EMAIL}" in page
