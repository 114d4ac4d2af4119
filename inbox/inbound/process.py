"""Processing inbound mail in the worker: one mail per transaction, each step idempotent.

A person's reply is stored as a message of its conversation (channel `email`), reopens it,
cancels its pending follow-ups, leaves the message for the drafting job to re-draft, and alerts
staff at once when either the new part or the whole text (minus our own quoted mail) reads as an
emergency. Automatic replies are attached and shown, nothing more. Bounces mark the mail they
are about. Nothing automatic ever answers an automatic mail, a bounce, a reply inside an existing
thread, or a sender who is not the conversation's contact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox import queues
from inbox.config import parse_rate
from inbox.conversations import lifecycle
from inbox.conversations.models import (
    Contact,
    Conversation,
    Message,
    MessageChannel,
    MessageStatus,
)
from inbox.db import session_scope
from inbox.followups.service import cancel_follow_ups
from inbox.inbound.bounces import apply_bounce, read_bounce
from inbox.inbound.classify import classify, envelope_sender
from inbox.inbound.matching import MatchedBy, find_conversation
from inbox.inbound.models import InboundKind, InboundMail, InboundState
from inbox.inbound.parse import ParsedMail, parse_mail
from inbox.inbound.quotes import new_part, without_our_mail
from inbox.intake import sql
from inbox.intake.spam import fingerprint
from inbox.knowledge.service import assess_urgency, ready
from inbox.notices.service import acknowledge, alert_staff
from inbox.outbox.models import OutboxMail
from inbox.runtime import Runtime

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # a mail that raised this often waits for staff (the admin page's retry)


@dataclass(frozen=True)
class Outcome:
    kind: str
    conversation_id: int | None
    message_id: int | None = None
    urgent: bool = False


def process_pending(runtime: Runtime) -> int:
    """The worker's job: process up to one batch of received mails; returns how many."""
    done = 0
    received = col(InboundMail.state) == InboundState.RECEIVED
    if not queues.waiting(runtime.engine, received):
        return done
    ready(runtime.knowledge)  # rules, model and language detector: loaded outside the write lock
    for _ in queues.batch(runtime.settings):
        inbound_id: int | None = None
        try:
            with session_scope(runtime.engine) as session:
                inbound = _claim_next(session)
                if inbound is None:
                    break
                inbound_id = inbound.id
                process_mail(session, runtime=runtime, inbound=inbound)
            done += 1
        except Exception as exc:
            if inbound_id is None:
                raise
            log.warning(
                "inbound mail %s could not be processed: %s", inbound_id, type(exc).__name__
            )
            _record_failure(runtime, inbound_id, exc)
            done += 1
    return done


def _claim_next(session: Session) -> InboundMail | None:
    """The oldest received mail nobody else is processing, locked for this transaction."""
    return session.exec(
        select(InboundMail)
        .where(InboundMail.state == InboundState.RECEIVED)
        .order_by(col(InboundMail.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()


def _record_failure(runtime: Runtime, inbound_id: int, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:1000]
    with session_scope(runtime.engine) as session:
        inbound = session.get(InboundMail, inbound_id, with_for_update=True)
        if inbound is None or inbound.state != InboundState.RECEIVED:
            return
        inbound.attempts += 1
        inbound.error = error
        if inbound.attempts >= MAX_ATTEMPTS:
            inbound.state = InboundState.FAILED


def retry_mail(session: Session, *, inbound_id: int) -> InboundMail | None:
    """Put a failed mail back in the queue (staff's retry); None when there is no such mail."""
    inbound = session.get(InboundMail, inbound_id, with_for_update=True)
    if inbound is None or inbound.state != InboundState.FAILED or inbound.raw is None:
        return None
    inbound.state, inbound.attempts, inbound.error = InboundState.RECEIVED, 0, None
    session.flush()
    return inbound


def process_mail(session: Session, *, runtime: Runtime, inbound: InboundMail) -> Outcome:
    """Classify one stored mail and act on it (in the caller's transaction)."""
    settings, now = runtime.settings, runtime.clock.now()
    if inbound.raw is None:
        raise ValueError("the raw mail was purged before it was processed")
    parsed = parse_mail(inbound.raw)
    recipients = [item.strip() for item in inbound.envelope_to.split(",") if item.strip()]
    sender = envelope_sender(parsed, inbound.envelope_from)
    kind = classify(parsed, settings=settings, sender=sender, recipients=recipients)
    inbound.kind = kind.kind
    inbound.sender = parsed.sender or None
    inbound.sender_name = parsed.sender_name or None
    inbound.subject = parsed.subject
    inbound.text = parsed.text
    inbound.html = parsed.html
    if kind.kind == InboundKind.BOUNCE:
        outcome = _bounce(
            session, inbound=inbound, parsed=parsed, verp_mail_id=kind.verp_mail_id, now=now
        )
    else:
        match = find_conversation(session, settings=settings, parsed=parsed, recipients=recipients)
        inbound.matched_by = match.matched_by
        conversation = match.conversation
        if conversation is not None:
            inbound.conversation_id = conversation.id
            contact = session.get(Contact, conversation.contact_id)
            inbound.foreign_sender = contact is None or contact.email != parsed.sender
        if kind.kind == InboundKind.AUTOMATIC:
            outcome = Outcome(kind.kind, inbound.conversation_id)
        else:
            outcome = _person(session, runtime=runtime, inbound=inbound, parsed=parsed,
                              conversation=conversation, now=now)  # fmt: skip
    inbound.state, inbound.processed_at, inbound.error = InboundState.PROCESSED, now, None
    session.add(inbound)
    session.flush()
    return outcome


def _bounce(
    session: Session, *, inbound: InboundMail, parsed: ParsedMail, verp_mail_id: int | None,
    now: datetime,
) -> Outcome:  # fmt: skip
    bounce = read_bounce(session, parsed=parsed, verp_mail_id=verp_mail_id)
    inbound.bounce, inbound.bounce_text = bounce.severity, bounce.text[:1000]
    if bounce.mail is not None:
        inbound.bounce_mail_id = bounce.mail.id
        inbound.conversation_id = bounce.mail.conversation_id
        inbound.matched_by = MatchedBy.REFERENCES
    apply_bounce(session, bounce=bounce, now=now)
    return Outcome(InboundKind.BOUNCE, inbound.conversation_id)


def _over_rate_limit(session: Session, *, runtime: Runtime, sender: str, now: datetime) -> bool:
    limit, period = parse_rate(runtime.settings.inbound_rate_limit)
    if not limit or not sender:
        return False
    since = now - timedelta(seconds=period)
    count = session.exec(
        select(sa.func.count())
        .select_from(InboundMail)
        .where(InboundMail.sender == sender)
        .where(col(InboundMail.received_at) >= since)
        .where(col(InboundMail.created_message_id).is_not(None))
    ).one()
    return int(count) >= limit


def _person(
    session: Session, *, runtime: Runtime, inbound: InboundMail, parsed: ParsedMail,
    conversation: Conversation | None, now: datetime,
) -> Outcome:  # fmt: skip
    if not parsed.sender:
        raise ValueError("the mail has no usable From address")
    if _over_rate_limit(session, runtime=runtime, sender=parsed.sender, now=now):
        inbound.error = "over the per-sender limit: attached, nothing reopened or sent"
        return Outcome(InboundKind.PERSON, inbound.conversation_id)
    text = parsed.text.strip()
    fresh = new_part(text)
    inbound.new_text = fresh
    ours = []
    if conversation is not None:
        ours = list(
            session.exec(
                select(OutboxMail.text_body).where(OutboxMail.conversation_id == conversation.id)
            )
        )
    subject = parsed.subject or "(no subject)"
    knowledge = runtime.knowledge
    reasons = list(assess_urgency(knowledge, subject=subject, text=fresh))
    whole = without_our_mail(text, ours)
    if whole != fresh:  # most replies: a signature or a quote of someone else's mail remains
        reasons += [
            r for r in assess_urgency(knowledge, subject=subject, text=whole) if r not in reasons
        ]
    urgent = bool(reasons)
    inbound.urgent = urgent
    connection = session.connection()
    statements = sql.Statements(connection.dialect.name)
    new_thread = conversation is None
    if conversation is None:
        contact_id = statements.run(
            connection, sql.UPSERT_CONTACT, email=parsed.sender,
            name=(parsed.sender_name or parsed.sender)[:200], now=now,
        ).scalar_one()  # fmt: skip
        conversation_id = lifecycle.open_conversation(
            connection, statements.run, contact_id=contact_id, subject=subject, now=now,
            urgent=urgent,
        )  # fmt: skip
    else:
        assert conversation.id is not None
        contact_id, conversation_id = conversation.contact_id, conversation.id
        lifecycle.reopen_on_message(
            connection, statements.run, conversation_id=conversation_id, now=now, urgent=urgent
        )
    inbound.conversation_id = conversation_id
    # A stranger's mail (a relative, a second account) is the conversation's all the same: the
    # message, and so the reply staff approve and its follow-ups, stay with the contact's address;
    # who really wrote is kept on the inbound mail and flagged on the page.
    name, address = parsed.sender_name or parsed.sender, parsed.sender
    contact = session.get(Contact, contact_id) if inbound.foreign_sender else None
    if contact is not None:
        name, address = contact.name, contact.email
    body = fresh or text or "(the mail has no text)"
    message = Message(
        conversation_id=conversation_id,
        contact_id=contact_id,
        name=name[:200],
        email=address[:320],
        subject=subject[:300],
        body=body,
        channel=MessageChannel.EMAIL,
        received_at=now,
        status=MessageStatus.ACCEPTED,
        fingerprint=fingerprint(parsed.sender, body),
        urgent=urgent,
        drafted_at=None,  # the drafting job re-drafts the conversation's reply for it
    )
    session.add(message)
    session.flush()
    inbound.created_message_id = message.id
    cancel_follow_ups(
        session, conversation_id=conversation_id, reason="the patient replied", now=now
    )
    if urgent:
        alert_staff(session, runtime=runtime, message=message, reasons=reasons, now=now)
    if new_thread and not inbound.foreign_sender:
        acknowledge(session, runtime=runtime, message=message, now=now)
    return Outcome(InboundKind.PERSON, conversation_id, message.id, urgent)
