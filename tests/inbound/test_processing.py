"""Processing stored mail in the worker: bad input never stops the queue, HTML-only mail is read,
threads are found by our Message-IDs, a stranger's mail is flagged, and automatic mail is never
answered."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from inbox.conversations.models import ConversationState, Message
from inbox.inbound.models import InboundKind, InboundSource, InboundState
from inbox.inbound.process import process_pending
from inbox.inbound.store import store_inbound
from inbox.outbox.models import MailKind
from inbox.runtime import Runtime
from tests.followups.support import EMAIL, mails, reply_sent
from tests.inbound.corpus import MALFORMED
from tests.inbound.support import conversation, inbound_mails, mail_to, messages, plain_mail
from tests.smtp import SmtpServer

SERVICE = "patient-service@kidney-hospital.example"


def take_in(runtime: Runtime, raw: bytes, *, sender: str = "a@example.net", to: str = SERVICE):
    return store_inbound(
        runtime.engine, raw=raw, source=InboundSource.PIPE, envelope_from=sender,
        recipients=[to], now=runtime.clock.now(),
    )  # fmt: skip


def process_all(runtime: Runtime) -> None:
    for _ in range(20):
        if not process_pending(runtime):
            return


def test_every_malformed_mail_ends_stored_with_a_state_and_the_queue_moves_on(runtime: Runtime):
    for raw in MALFORMED.values():
        take_in(runtime, raw)
    good = take_in(runtime, plain_mail(sender="b@example.net", to=SERVICE, text="Still here?"))
    process_all(runtime)
    stored = inbound_mails(runtime)
    assert len(stored) == len(MALFORMED) + 1
    assert all(m.state in (InboundState.PROCESSED, InboundState.FAILED) for m in stored)
    assert all(m.error for m in stored if m.state == InboundState.FAILED)
    by_id = {m.id: m for m in stored}
    assert by_id[good.inbound_id].state == InboundState.PROCESSED
    assert by_id[good.inbound_id].created_message_id is not None


def test_an_html_only_mail_is_read_as_text_and_its_html_sanitised(runtime: Runtime):
    raw = (
        b"From: Amal <amal@example.net>\r\nTo: " + SERVICE.encode() + b"\r\n"
        b"Subject: legs\r\nMessage-ID: <html1@example.net>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>My legs <b>cramp</b> at the end.</p><script>alert(1)</script>"
        b'<img src="https://tracker.example/p.gif"><a href="javascript:x()">x</a>'
    )
    take_in(runtime, raw)
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert "My legs cramp at the end." in (inbound.text or "")
    assert "<script" not in (inbound.html or "") and "<img" not in (inbound.html or "")
    assert "javascript:" not in (inbound.html or "")
    [message] = messages(runtime, inbound.conversation_id or 0)
    assert message.body.startswith("My legs cramp at the end.")


def test_a_reply_without_our_address_is_threaded_by_the_message_ids_we_sent(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer
):
    conversation_id = reply_sent(client, runtime)
    ours = mail_to(smtp_server, EMAIL, "Re: ").parsed()
    raw = plain_mail(sender=EMAIL, to=SERVICE, subject="Re: something", text="Me again.",
                     In_Reply_To=ours["Message-ID"], References=ours["Message-ID"])  # fmt: skip
    take_in(runtime, raw, sender=EMAIL)
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.conversation_id == conversation_id and inbound.matched_by == "references"
    assert not inbound.foreign_sender


def test_a_reply_from_another_address_is_attached_but_flagged_and_gets_nothing_automatic(
    client: TestClient, runtime: Runtime, smtp_server: SmtpServer
):
    conversation_id = reply_sent(client, runtime)
    ours = mail_to(smtp_server, EMAIL, "Re: ").parsed()
    before = len(mails(runtime))
    raw = plain_mail(sender="daughter@example.org", to=str(ours["Reply-To"]),
                     subject="Re: about my father", text="He is worse today.")  # fmt: skip
    take_in(runtime, raw, sender="daughter@example.org", to=str(ours["Reply-To"]))
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.conversation_id == conversation_id and inbound.foreign_sender
    # nothing automatic to that address (staff may still be alerted: "he is worse today")
    assert "daughter@example.org" not in [m.recipient for m in mails(runtime)[before:]]
    # the reply staff approve (and its follow-ups) goes to the patient, not to the stranger
    assert messages(runtime, conversation_id)[-1].email == EMAIL
    assert inbound.sender == "daughter@example.org"


def test_a_forged_reply_address_does_not_attach_to_that_conversation(
    client: TestClient, runtime: Runtime
):
    conversation_id = reply_sent(client, runtime)
    forged = f"reply+{conversation_id}.0123456789abcdef@kidney-hospital.example"
    take_in(runtime, plain_mail(sender="x@evil.example", to=forged), sender="x@evil.example",
            to=forged)  # fmt: skip
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.conversation_id != conversation_id and inbound.matched_by == "new"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"List_Id": "<patients.lists.example>"},
    ],
)
def test_automatic_mail_is_never_answered(runtime: Runtime, headers: dict[str, str]):
    take_in(runtime, plain_mail(sender="robot@example.net", to=SERVICE, **headers))
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.kind == InboundKind.AUTOMATIC and inbound.created_message_id is None
    assert mails(runtime) == []


def test_our_own_mail_coming_back_is_never_answered(runtime: Runtime):
    sender = "Kidney Disease Hospital <patient-service@kidney-hospital.example>"
    take_in(runtime, plain_mail(sender=sender, to=SERVICE, text="A copy of our own mail."))
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.kind == InboundKind.AUTOMATIC and mails(runtime) == []


def test_auto_submitted_no_is_a_person(runtime: Runtime):
    take_in(runtime, plain_mail(sender="p@example.net", to=SERVICE, Auto_Submitted="no"))
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert inbound.kind == InboundKind.PERSON
    assert [m.kind for m in mails(runtime)] == [MailKind.ACKNOWLEDGEMENT]


def test_a_sender_over_the_rate_limit_reopens_and_alerts_no_more(runtime: Runtime):
    runtime.settings.inbound_rate_limit = "2/hour"
    for number in range(4):
        take_in(runtime, plain_mail(sender="p@example.net", to=SERVICE, text=f"Mail {number}"))
    process_all(runtime)
    stored = inbound_mails(runtime)
    assert [m.created_message_id is not None for m in stored] == [True, True, False, False]
    assert all(m.state == InboundState.PROCESSED for m in stored)
    with Session(runtime.engine) as session:
        assert session.get(Message, stored[0].created_message_id) is not None
    assert conversation(runtime, stored[0].conversation_id or 0).state == ConversationState.REVIEW


def test_a_mail_in_another_charset_than_declared_is_still_read(runtime: Runtime):
    take_in(runtime, MALFORMED["wrong charset declared"])
    process_all(runtime)
    [inbound] = inbound_mails(runtime)
    assert "Krämpfe nach der Dialyse, Brustschmerzen" in (inbound.text or "")
