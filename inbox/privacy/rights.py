"""The person's rights: export everything held about an e-mail address, and erase it.

Erase deletes the contact, every conversation of the address with its messages, drafts, notes,
follow-ups, outbox mails, delivery attempts and inbound mail (raw bytes too), any other mail to
or from the address, its rate-limit
counters and what the built-in mail catcher caught for it. It keeps:
- one audit entry, naming the address only by a keyed hash (`address_key`) and giving counts:
  proof that the erasure happened, without the address or any health data;
- the suppression entry if the person *unsubscribed*: the address alone, so that their wish to
  get no automatic mail is still honoured if they write again (a "bounced" entry is deleted).
Audit entries of staff actions on the deleted conversations stay: they hold ids, never content.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from inbox.conversations.models import (
    Contact,
    Conversation,
    ConversationTag,
    Message,
    PhoneCall,
)
from inbox.drafting.models import Draft, Note, TriageLabel
from inbox.errors import Conflict
from inbox.followups.models import FollowUp, Suppression, SuppressionReason, UnsubscribeToken
from inbox.followups.service import normalise_address
from inbox.inbound.models import InboundMail
from inbox.outbox.models import CaughtMail, DeliveryAttempt, MailState, OutboxMail
from inbox.privacy.deletion import conversations_being_sent, delete_conversations
from inbox.ratelimit import RateBucket
from inbox.staff.audit import record
from inbox.staff.models import AuditEntry, StaffUser

EXPORT_FORMAT = "inbox-export/1"
_LEFT_OUT = {"raw"}  # the built message repeats text and HTML bodies


def address_key(secret_key: str, email: str) -> str:
    """A keyed hash of the address: lets the audit log say "this address" without naming it."""
    digest = hmac.new(secret_key.encode(), normalise_address(email).encode(), hashlib.sha256)
    return "sha256:" + digest.hexdigest()[:32]


def _row(item: SQLModel) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in item.model_dump().items()
        if key not in _LEFT_OUT
    }


def _conversation_ids(session: Session, address: str, contact: Contact | None) -> list[int]:
    ids = set(
        session.exec(
            select(Message.conversation_id)
            .where(Message.email == address)
            .where(col(Message.conversation_id).is_not(None))
        ).all()
    )
    if contact is not None:
        ids.update(
            session.exec(select(col(Conversation.id)).where(Conversation.contact_id == contact.id))
        )
    return sorted(i for i in ids if i is not None)


def _other_mails(session: Session, address: str, conversation_ids: list[int]) -> list[OutboxMail]:
    """Mails to the address outside its conversations (the recipient may carry a display name)."""
    return [
        mail
        for mail in session.exec(
            select(OutboxMail).where(
                (col(OutboxMail.recipient) == address)
                | col(OutboxMail.recipient).contains(f"<{address}>")
            )
        )
        if mail.conversation_id not in conversation_ids
        and normalise_address(mail.recipient) == address
    ]


def _rows_of(session: Session, model: type[SQLModel], *conditions: Any) -> list[dict[str, Any]]:
    """Every row of `model` matching the conditions, oldest first, as JSON-ready dicts."""
    query = select(model).where(*conditions).order_by(model.id)  # type: ignore[attr-defined]
    return [_row(item) for item in session.exec(query)]


def _history(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    """Who did what on the conversation (staff actions: the access history)."""
    entries = session.exec(
        select(AuditEntry)
        .where(AuditEntry.target_type == "conversation")
        .where(AuditEntry.target_id == str(conversation_id))
        .order_by(col(AuditEntry.id))
    )
    return [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action} for e in entries]


def _export_conversation(session: Session, conversation_id: int) -> dict[str, Any]:
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    mails = session.exec(
        select(OutboxMail)
        .where(OutboxMail.conversation_id == conversation_id)
        .order_by(col(OutboxMail.id))
    )
    return {
        **_row(conversation),
        "messages": _rows_of(session, Message, Message.conversation_id == conversation_id),
        "drafts": _rows_of(session, Draft, Draft.conversation_id == conversation_id),
        "notes": _rows_of(session, Note, Note.conversation_id == conversation_id),
        "triage_labels": _rows_of(
            session, TriageLabel, TriageLabel.conversation_id == conversation_id
        ),
        "mails": [_mail(session, mail) for mail in mails],
        "follow_ups": _rows_of(session, FollowUp, FollowUp.conversation_id == conversation_id),
        "phone_calls": _rows_of(session, PhoneCall, PhoneCall.conversation_id == conversation_id),
        "tags": sorted(
            session.exec(
                select(ConversationTag.tag).where(
                    ConversationTag.conversation_id == conversation_id
                )
            )
        ),
        "inbound_mails": _inbound(session, InboundMail.conversation_id == conversation_id),
        "history": _history(session, conversation_id),
    }


def export_address(session: Session, *, email: str, now: datetime) -> dict[str, Any]:
    """Everything held about one address, as JSON-ready data."""
    address = normalise_address(email)
    contact = session.exec(select(Contact).where(Contact.email == address)).first()
    conversation_ids = _conversation_ids(session, address, contact)
    suppression = session.get(Suppression, address)
    other_follow_ups = _rows_of(
        session,
        FollowUp,
        FollowUp.recipient == address,
        col(FollowUp.conversation_id).not_in(conversation_ids or [-1]),
    )
    return {
        "format": EXPORT_FORMAT,
        "email": address,
        "exported_at": now.isoformat(),
        "contact": _row(contact) if contact else None,
        "conversations": [_export_conversation(session, cid) for cid in conversation_ids],
        "other_mails": [
            _mail(session, mail) for mail in _other_mails(session, address, conversation_ids)
        ],
        "follow_ups": other_follow_ups,
        "inbound_mails": _inbound(
            session,
            InboundMail.sender == address,
            col(InboundMail.conversation_id).not_in(conversation_ids or [-1])
            | col(InboundMail.conversation_id).is_(None),
        ),
        "suppression": _row(suppression) if suppression else None,
        "caught_mails": [
            {"id": item.id, "received_at": item.received_at.isoformat(), "subject": item.subject}
            for item in _caught(session, address)
        ],
    }


def _mail(session: Session, mail: OutboxMail) -> dict[str, Any]:
    return {
        **_row(mail),
        "attempts": _rows_of(session, DeliveryAttempt, DeliveryAttempt.mail_id == mail.id),
    }


def _inbound(session: Session, *conditions: Any) -> list[dict[str, Any]]:
    """Inbound mails with their raw bytes (base64), as they arrived."""
    found = session.exec(select(InboundMail).where(*conditions).order_by(col(InboundMail.id)))
    return [
        {**_row(item), "raw_base64": base64.b64encode(item.raw).decode() if item.raw else None}
        for item in found
    ]


def _caught(session: Session, address: str) -> list[CaughtMail]:
    candidates = session.exec(
        select(CaughtMail).where(col(CaughtMail.recipients).contains(address))
    )
    return [
        caught for caught in candidates
        if address in (normalise_address(part) for part in caught.recipients.split(","))
    ]  # fmt: skip


def erase_address(
    session: Session, *, email: str, actor: StaffUser | str, now: datetime, secret_key: str
) -> dict[str, int]:
    """Delete everything held about the address (see the module docstring); returns counts."""
    address = normalise_address(email)
    contact = session.exec(select(Contact).where(Contact.email == address)).first()
    conversation_ids = _conversation_ids(session, address, contact)
    if conversations_being_sent(session, conversation_ids):
        raise Conflict(
            "A mail to this address is being sent right now. Nothing was erased; "
            "please try again in a few minutes."
        )
    counts = delete_conversations(session, conversation_ids)
    other_mails = _other_mails(session, address, conversation_ids)
    if any(mail.state == MailState.SENDING for mail in other_mails):
        raise Conflict("A mail to this address is being sent right now. Please try again soon.")
    other_mail_ids = [mail.id for mail in other_mails]
    inbound = _table(InboundMail)
    counts["inbound_mails"] += _count(
        session.execute(
            sa.delete(inbound).where(
                (inbound.c.sender == address) | inbound.c.bounce_mail_id.in_(other_mail_ids or [-1])
            )
        )
    )
    follow_up, attempt, mail = _table(FollowUp), _table(DeliveryAttempt), _table(OutboxMail)
    counts["follow_ups"] += _count(
        session.execute(
            sa.delete(follow_up).where(
                (follow_up.c.recipient == address)
                | follow_up.c.outbox_mail_id.in_(other_mail_ids or [-1])
            )
        )
    )
    if other_mail_ids:
        counts["attempts"] += _count(
            session.execute(sa.delete(attempt).where(attempt.c.mail_id.in_(other_mail_ids)))
        )
        counts["mails"] += _count(
            session.execute(sa.delete(mail).where(mail.c.id.in_(other_mail_ids)))
        )
    message = _table(Message)
    counts["messages"] += _count(
        session.execute(sa.delete(message).where(message.c.email == address))
    )
    counts["contacts"] = 0
    if contact is not None:
        session.expunge(contact)
        contacts = _table(Contact)
        counts["contacts"] = _count(
            session.execute(sa.delete(contacts).where(contacts.c.id == contact.id))
        )
    caught = _caught(session, address)
    for item in caught:
        session.delete(item)
    counts["caught_mails"] = len(caught)
    buckets = _table(RateBucket)
    counts["rate_limit_windows"] = _count(
        session.execute(sa.delete(buckets).where(buckets.c.key == f"addr:{address}"))
    )
    suppression = session.get(Suppression, address)
    kept = suppression is not None and suppression.reason == SuppressionReason.UNSUBSCRIBED
    if suppression is not None and not kept:
        session.delete(suppression)
    counts["suppression_kept"] = int(kept)
    tokens = _table(UnsubscribeToken)  # the suppression alone keeps the address, no link does
    session.execute(sa.delete(tokens).where(tokens.c.email == address))
    session.flush()
    record(
        session, actor=actor, action="privacy erase", target_type="address",
        target_id=address_key(secret_key, address),
        detail=", ".join(f"{key} {value}" for key, value in counts.items()), now=now,
    )  # fmt: skip
    return counts


def audit_export(
    session: Session, *, email: str, actor: StaffUser | str, now: datetime, secret_key: str
) -> None:
    """The audit entry of an export (the address by its keyed hash)."""
    record(
        session, actor=actor, action="privacy export", target_type="address",
        target_id=address_key(secret_key, email), now=now,
    )  # fmt: skip


def _table(model: type[SQLModel]) -> sa.Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
