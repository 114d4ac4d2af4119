"""What the mail benchmarks set up alike: conversations that already have a reply of ours in the
outbox (built by the real enqueue path). Their databases: bench/databases.py."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from inbox.config import Settings
from inbox.conversations.models import Contact, Conversation, ConversationState
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.service import enqueue_mail


def conversation_with_reply(
    session: Session,
    settings: Settings,
    *,
    email: str,
    name: str,
    state: ConversationState,
    subject: str,
    text: str,
    html: str,
    now: datetime,
    recipient: str | None = None,
) -> OutboxMail:
    """A contact, their conversation in `state`, and our reply to it queued in the outbox."""
    contact = Contact(email=email, name=name, created_at=now)
    session.add(contact)
    session.flush()
    conversation = Conversation(
        contact_id=contact.id,
        subject=subject,
        state=state,
        created_at=now,
        updated_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    session.flush()
    return enqueue_mail(
        session,
        settings=settings,
        kind=MailKind.REPLY,
        recipient=recipient or email,
        subject=subject,
        text=text,
        html=html,
        conversation_id=conversation.id,
        automatic=False,
        send_after=now,
        now=now,
    )
