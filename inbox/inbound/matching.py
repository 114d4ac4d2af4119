"""Which conversation an inbound mail belongs to, strongest evidence first: our signed reply
address, then the Message-IDs of mails we sent (In-Reply-To, References), then the sender's open
conversation. None: the mail starts a new conversation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from inbox.config import Settings
from inbox.conversations import lifecycle
from inbox.conversations.models import Contact, Conversation
from inbox.inbound.parse import ParsedMail
from inbox.outbox.addresses import REPLY, read_signed_address
from inbox.outbox.models import OutboxMail


class MatchedBy:
    REPLY_ADDRESS = "reply-address"
    REFERENCES = "references"
    SENDER = "sender"
    NEW = "new"


@dataclass(frozen=True)
class Match:
    conversation: Conversation | None
    matched_by: str


def find_conversation(
    session: Session, *, settings: Settings, parsed: ParsedMail, recipients: list[str]
) -> Match:
    """The conversation the mail answers (see the module docstring)."""
    for address in recipients + parsed.recipients:
        signed = read_signed_address(settings, address)
        if signed is not None and signed[0] == REPLY:
            conversation = session.get(Conversation, signed[1])
            if conversation is not None:
                return Match(conversation, MatchedBy.REPLY_ADDRESS)
    conversation = conversation_of_sent_mail(session, parsed.in_reply_to + parsed.references)
    if conversation is not None:
        return Match(conversation, MatchedBy.REFERENCES)
    if parsed.sender:
        conversation = session.exec(
            select(Conversation)
            .join(Contact, col(Contact.id) == Conversation.contact_id)
            .where(Contact.email == parsed.sender)
            .where(col(Conversation.state).in_(lifecycle.OPEN_STATES))
            .order_by(col(Conversation.id).desc())
            .limit(1)
        ).first()
        if conversation is not None:
            return Match(conversation, MatchedBy.SENDER)
    return Match(None, MatchedBy.NEW)


def conversation_of_sent_mail(session: Session, message_ids: list[str]) -> Conversation | None:
    """The conversation of the newest of our mails among `message_ids` (the unique index on
    outbox_mail.message_id serves this)."""
    wanted = list(dict.fromkeys(message_ids))[-50:]
    if not wanted:
        return None
    conversation_id = session.exec(
        select(OutboxMail.conversation_id)
        .where(col(OutboxMail.message_id).in_(wanted))
        .where(col(OutboxMail.conversation_id).is_not(None))
        .order_by(col(OutboxMail.id).desc())
        .limit(1)
    ).first()
    return session.get(Conversation, conversation_id) if conversation_id is not None else None


def sent_mail_for(session: Session, message_ids: list[str]) -> OutboxMail | None:
    """Our newest mail among `message_ids` (a bounce quoting the mail it is about)."""
    wanted = list(dict.fromkeys(message_ids))[-50:]
    if not wanted:
        return None
    return session.exec(
        select(OutboxMail)
        .where(col(OutboxMail.message_id).in_(wanted))
        .order_by(col(OutboxMail.id).desc())
        .limit(1)
    ).first()
