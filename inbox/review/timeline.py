"""The whole conversation in time order, for the conversation page: the patient's messages (form
and e-mail), every mail the service sent with its text, mail that came back (automatic replies,
bounces), notes and state changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from inbox.inbound.models import BounceSeverity, InboundKind, InboundMail
from inbox.review.actions import ConversationView


class EntryKind:
    MESSAGE = "message"  # from the patient, by the form or by e-mail
    MAIL = "mail"  # sent (or queued) by the service
    INBOUND = "inbound"  # an automatic reply or a bounce that came back
    NOTE = "note"
    HISTORY = "history"  # a state change or another staff action


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # EntryKind
    item: Any
    extra: Any = None  # a note's author, an e-mail message's inbound mail, a mail's bounce


def inbound_mails(session: Session, *, conversation_id: int) -> list[InboundMail]:
    """Every processed mail that came back into the conversation, oldest first."""
    return list(
        session.exec(
            select(InboundMail)
            .where(InboundMail.conversation_id == conversation_id)
            .order_by(col(InboundMail.received_at), col(InboundMail.id))
        )
    )


def undelivered(mails: list[InboundMail]) -> list[InboundMail]:
    """Hard bounces: a mail of ours that did not reach the patient."""
    return [m for m in mails if m.kind == InboundKind.BOUNCE and m.bounce == BounceSeverity.HARD]


def build_timeline(view: ConversationView, inbound: list[InboundMail]) -> list[Entry]:
    """Every event of the conversation, oldest first."""
    by_message = {m.created_message_id: m for m in inbound if m.created_message_id is not None}
    entries = [
        Entry(message.received_at, EntryKind.MESSAGE, message, by_message.get(message.id or 0))
        for message in view.messages
    ]
    bounced = {m.bounce_mail_id: m.bounce for m in inbound if m.bounce_mail_id is not None}
    entries += [
        Entry(item.mail.sent_at or item.mail.created_at, EntryKind.MAIL, item.mail,
              bounced.get(item.mail.id or 0))
        for item in view.mails
    ]  # fmt: skip
    entries += [
        Entry(mail.received_at, EntryKind.INBOUND, mail)
        for mail in inbound
        if mail.created_message_id is None
    ]
    entries += [Entry(note.created_at, EntryKind.NOTE, note, author) for note, author in view.notes]
    entries += [Entry(entry.at, EntryKind.HISTORY, entry) for entry in view.history]
    order = {EntryKind.MESSAGE: 0, EntryKind.INBOUND: 1, EntryKind.MAIL: 2, EntryKind.NOTE: 3}
    return sorted(entries, key=lambda entry: (entry.at, order.get(entry.kind, 4)))
