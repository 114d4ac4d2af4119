"""The conversation page in headless Chromium once mail came back: the patient's e-mail reply in
the timeline with the whole mail a click away, its HTML in a sandboxed frame where nothing runs,
and the bounce's "phone them"; axe finds nothing serious."""

from __future__ import annotations

import email.policy
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from inbox.inbound.models import InboundSource
from inbox.inbound.process import process_pending
from inbox.inbound.store import store_inbound
from inbox.outbox.models import MailKind
from inbox.runtime import Runtime
from tests.followups.support import EMAIL, mails, reply_sent
from tests.inbound.test_bounces import dsn
from tests.smtp import SmtpServer

pytestmark = pytest.mark.browser
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"


def _html_reply(reply_to: str) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"], message["To"], message["Subject"] = EMAIL, reply_to, "Re: your message"
    message["Message-ID"] = "<browser-reply@patient.example>"
    message.set_content("The cramps are worse since Monday.\n\n> Dear Karim,\n> our answer\n")
    message.add_alternative(f"<p>The cramps are <b>worse</b> since Monday.</p>{HOSTILE}",
                            subtype="html")  # fmt: skip
    return message.as_bytes()


def test_staff_read_the_email_reply_and_the_bounce_in_the_timeline(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer, live_server, staff_login,
    page: Page, assert_no_serious_axe_violations,
):  # fmt: skip
    conversation_id = reply_sent(client, runtime)
    [reply] = mails(runtime, MailKind.REPLY)
    received = [r for r in smtp_server.received if r.parsed()["Message-ID"] == reply.message_id]
    reply_to = str(received[0].parsed()["Reply-To"])
    now = runtime.clock.now()
    stored = store_inbound(runtime.engine, raw=_html_reply(reply_to), source=InboundSource.LMTP,
                  envelope_from=EMAIL, recipients=[reply_to], now=now)  # fmt: skip
    report = dsn(original_message_id=reply.message_id, recipient=EMAIL, action="failed",
                 status="5.1.1")  # fmt: skip
    store_inbound(runtime.engine, raw=report, source=InboundSource.LMTP, envelope_from="",
                  recipients=["patient-service@kidney-hospital.example"], now=now)  # fmt: skip
    process_pending(runtime)

    page.goto(staff_login.url(f"/inbox/conversations/{conversation_id}"))
    expect(page.get_by_test_id("undelivered")).to_contain_text("phone them")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("wrote by e-mail")
    expect(timeline).to_contain_text("The cramps are worse since Monday.")
    page.get_by_text("The whole e-mail, quotes included").click()
    expect(timeline).to_contain_text("> Dear Karim,")
    page.get_by_text("The e-mail as formatted by the sender").click()
    frame = page.frame_locator(f'iframe[src="/inbox/inbound/{stored.inbound_id}/html"]')
    expect(frame.locator("b")).to_have_text("worse")
    assert page.evaluate("() => window.__pwned") is None
    assert_no_serious_axe_violations(page)
