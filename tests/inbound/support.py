"""Helpers of the inbound tests: what the patient's mailbox holds, and mails to send back."""

from __future__ import annotations

import email.policy
import email.utils
import uuid
from email.message import EmailMessage

from sqlmodel import Session, col, select

from inbox.conversations.models import Conversation, Message
from inbox.inbound.models import InboundMail
from inbox.runtime import Runtime
from tests.smtp import Received, SmtpServer


def mail_to(server: SmtpServer, recipient: str, subject_part: str = "") -> Received:
    """The newest mail the patient received (optionally with `subject_part` in its subject)."""
    found = [
        item
        for item in server.received
        if recipient in item.recipients and subject_part in str(item.parsed()["Subject"])
    ]
    assert found, f"no mail to {recipient} with {subject_part!r} in its subject"
    return found[-1]


def plain_mail(
    *, sender: str, to: str, subject: str = "Hello", text: str = "A question.", **headers: str
) -> bytes:
    """A simple mail as a person's client writes it; extra headers by keyword (X_Foo -> X-Foo)."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate()
    message["Message-ID"] = f"<{uuid.uuid4().hex}@patient.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


def conversation(runtime: Runtime, conversation_id: int) -> Conversation:
    with Session(runtime.engine) as session:
        found = session.get(Conversation, conversation_id)
        assert found is not None
        return found


def messages(runtime: Runtime, conversation_id: int) -> list[Message]:
    with Session(runtime.engine) as session:
        return list(
            session.exec(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.id))
            )
        )


def inbound_mails(runtime: Runtime) -> list[InboundMail]:
    with Session(runtime.engine) as session:
        return list(session.exec(select(InboundMail).order_by(col(InboundMail.id))))
