"""Mails the service sends by itself once a message is triaged: the acknowledgement to the
patient and the alert to staff for an urgent message.

`after_triage` is called by the worker's drafting job (wired in `inbox.worker`) in the
transaction that stores the triage, so the mails are enqueued exactly when the message is marked
drafted (a failed draft rolls them back). On SQLite the job first calls `prepare_notices`, before
that transaction: the acknowledgement is rendered and built there, and the transaction, which
holds the database's one write lock, only checks that it still fits and stores it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from inbox.conversations.languages import language_name
from inbox.conversations.models import (
    Conversation,
    Message,
    MessageChannel,
    MessageStatus,
    Urgency,
)
from inbox.followups.service import is_suppressed
from inbox.followups.unsubscribe import (
    known_token_or_new,
    token_for,
    unsubscribe_headers,
    unsubscribe_url,
)
from inbox.knowledge.engine import RuleEngine
from inbox.knowledge.service import triage_message
from inbox.mails.render import RenderedMail
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.service import PreparedMail, enqueue_mail, prepare_mail

if TYPE_CHECKING:
    from inbox.config import Settings
    from inbox.drafting.models import Draft
    from inbox.drafting.service import Prepared
    from inbox.runtime import Runtime

ACK_INTERVAL = timedelta(hours=1)  # at most one acknowledgement per address per hour


def conversation_url(runtime: Runtime, conversation_id: int) -> str:
    """The staff page of a conversation, as an absolute link for mail."""
    return f"{runtime.settings.public_url.rstrip('/')}/inbox/conversations/{conversation_id}"


@dataclass(frozen=True)
class PreparedAcknowledgement:
    """A message's acknowledgement, rendered and built before its drafting transaction for what
    triage is about to store (`prepare_notices`)."""

    message_id: int
    name: str
    urgent: bool
    token: str  # the address's unsubscribe token, or the one to give it
    rendered: RenderedMail
    mail: PreparedMail


def prepare_notices(
    session: Session, *, runtime: Runtime, message: Message, prepared: Prepared
) -> PreparedAcknowledgement | None:
    """The acknowledgement `after_triage` will send for `message` once drafted as `prepared`
    says, built now (reads only); None when none will go out."""
    settings = runtime.settings
    if (
        message.channel == MessageChannel.EMAIL
        or message.status != MessageStatus.ACCEPTED
        or message.conversation_id is None
        or message.id is None
    ):
        return None
    now = runtime.clock.now()
    if not _may_acknowledge(session, settings=settings, message=message, now=now):
        return None
    urgent = bool(prepared.triage.urgent)  # what the drafting transaction stores on the message
    token = known_token_or_new(session, email=message.email)
    rendered = _render_acknowledgement(runtime, name=message.name, urgent=urgent, token=token)
    mail = prepare_mail(
        session, settings=settings, recipient=message.email, mail=rendered,
        conversation_id=message.conversation_id, automatic=True, now=now,
        extra_headers=unsubscribe_headers(settings, token),
    )  # fmt: skip
    return PreparedAcknowledgement(message.id, message.name, urgent, token, rendered, mail)


def after_triage(
    session: Session,
    *,
    runtime: Runtime,
    message_id: int,
    draft: Draft | None = None,
    ahead: PreparedAcknowledgement | None = None,
) -> list[OutboxMail]:
    """Acknowledge an accepted message and alert staff if it is urgent; returns the mails queued.
    `ahead`: its acknowledgement as `prepare_notices` built it, used if it still fits."""
    message = session.get(Message, message_id)
    if (
        message is None
        or message.status != MessageStatus.ACCEPTED
        or message.conversation_id is None
    ):
        return []  # spam and folded duplicates get nothing
    now = runtime.clock.now()
    if message.channel == MessageChannel.EMAIL:
        # inbound mail sent its own alert (and any acknowledgement) when it was taken in; but
        # only triage tells the language, so a mail nobody here can read is alerted now
        if not message.needs_reader or message.urgent:
            return []
        alert = alert_staff(session, runtime=runtime, message=message, reasons=[], now=now)
        return [alert] if alert is not None else []
    mails = []
    ahead = ahead if ahead is not None and ahead.message_id == message.id else None
    ack = acknowledge(session, runtime=runtime, message=message, now=now, ahead=ahead)
    if ack is not None:
        mails.append(ack)
    if message.urgency != Urgency.ROUTINE:  # urgent, or "check now"
        reasons = list(draft.urgency_reasons) if draft and draft.message_id == message.id else []
        alert = alert_staff(session, runtime=runtime, message=message, reasons=reasons, now=now)
        if alert is not None:
            mails.append(alert)
    return mails


def acknowledge(
    session: Session,
    *,
    runtime: Runtime,
    message: Message,
    now: datetime,
    ahead: PreparedAcknowledgement | None = None,
) -> OutboxMail | None:
    """The automatic receipt, unless it is off, the address is suppressed, or one went out to the
    address in the last hour; `ahead` (`prepare_notices`) is stored when it is still this
    receipt."""
    settings = runtime.settings
    if not _may_acknowledge(session, settings=settings, message=message, now=now):
        return None
    proposed = ahead.token if ahead is not None else None
    token = token_for(session, email=message.email, now=now, proposed=proposed)
    prepared: PreparedMail | None = None
    if ahead is not None and (ahead.name, ahead.urgent, ahead.token) == (
        message.name,
        message.urgent,
        token,
    ):
        rendered, prepared = ahead.rendered, ahead.mail
    else:
        rendered = _render_acknowledgement(
            runtime, name=message.name, urgent=message.urgent, token=token
        )
    return enqueue_mail(
        session, settings=settings, kind=MailKind.ACKNOWLEDGEMENT, recipient=message.email,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        conversation_id=message.conversation_id, automatic=True, send_after=now, now=now,
        extra_headers=unsubscribe_headers(settings, token),
        hourly_cap=settings.automatic_mails_per_hour, prepared=prepared,
    )  # fmt: skip


def _may_acknowledge(
    session: Session, *, settings: Settings, message: Message, now: datetime
) -> bool:
    """Acknowledgements are on, the address is not suppressed, and none went to it lately."""
    if not settings.acknowledge or is_suppressed(session, message.email):
        return False
    # Acknowledgements always belong to a conversation: look among the address's conversations
    # (indexed by contact and by conversation) rather than scan the outbox by recipient.
    conversations = select(Conversation.id).where(Conversation.contact_id == message.contact_id)
    recent = session.exec(
        select(OutboxMail.id)
        .where(col(OutboxMail.conversation_id).in_(conversations))
        .where(OutboxMail.kind == MailKind.ACKNOWLEDGEMENT)
        .where(col(OutboxMail.created_at) > now - ACK_INTERVAL)
        .limit(1)
    ).first()
    return recent is None


def _render_acknowledgement(
    runtime: Runtime, *, name: str, urgent: bool, token: str
) -> RenderedMail:
    settings = runtime.settings
    return runtime.renderer.render_acknowledgement(
        name=name,
        urgent=urgent,
        reply_within=settings.acknowledge_reply_within,
        unsubscribe_url=unsubscribe_url(settings, token),
    )


def alert_staff(
    session: Session, *, runtime: Runtime, message: Message, reasons: list[str], now: datetime
) -> OutboxMail | None:
    """The mail to INBOX_STAFF_ALERT_TO about one urgent or "check now" message: the kind of
    emergency and a link, never the patient's words (a triage reason 'chest pain: "…"' loses its
    quote)."""
    settings = runtime.settings
    if not settings.staff_alert_to or message.conversation_id is None:
        return None
    kinds = list(dict.fromkeys(reason.split(":", 1)[0].strip() for reason in reasons))
    reading = _reading(runtime, message)
    if reading.needs_reader:
        kinds.append(f"needs a reader ({language_name(reading.language)})")
    rendered = runtime.renderer.render_staff_alert(
        conversation_url=conversation_url(runtime, message.conversation_id),
        reasons=[kind for kind in kinds if kind],
        received_at=message.received_at,
        possible=reading.possible,
    )
    # Not threaded into the patient's conversation: the patient's mails must not reference it.
    return enqueue_mail(
        session, settings=settings, kind=MailKind.STAFF_ALERT, recipient=settings.staff_alert_to,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        conversation_id=None, automatic=True, send_after=now, now=now,
    )  # fmt: skip


@dataclass(frozen=True)
class _Reading:
    possible: bool  # only a possible emergency ("check now"), not a sure one
    needs_reader: bool
    language: str | None


def _reading(runtime: Runtime, message: Message) -> _Reading:
    """What triage says of `message`, stored with it once the drafting job ran. An alert raised
    before that (an inbound mail's first look) about a mail that looks unreadable has it triaged
    now: the first look neither names the language nor tells a possible emergency from a sure
    one. The language detector costs time (its models load on first use), so only then."""
    if message.language is None and _looks_unreadable(runtime, message):
        found = triage_message(runtime.knowledge, subject=message.subject, text=message.body)
        return _Reading(found.urgent and found.possible, found.needs_reader, found.language)
    return _Reading(message.urgency == Urgency.POSSIBLE, message.needs_reader, message.language)


def _looks_unreadable(runtime: Runtime, message: Message) -> bool:
    """The rules' cheap look (no language detection): mostly words they do not know."""
    engine = RuleEngine.of(runtime.knowledge)
    return engine.assess_urgency(subject=message.subject, text=message.body).needs_reader
