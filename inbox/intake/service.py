"""Store a submission: rate limits, spam marking, duplicate folding, contact and conversation.

This is the hot path of the public form, so it speaks SQL Core through the session (no ORM
objects to build); every statement runs in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from inbox.config import Settings
from inbox.errors import RateLimited
from inbox.intake import ratelimit
from inbox.intake.models import Contact, Conversation, ConversationState, Message, MessageStatus
from inbox.intake.spam import client_ip_key, fingerprint, spam_reason
from inbox.intake.validation import Submission

CONTACT = Contact.__table__
CONVERSATION = Conversation.__table__
MESSAGE = Message.__table__
OPEN_STATES = (
    ConversationState.REVIEW,
    ConversationState.QUEUED,
    ConversationState.SENT,
    ConversationState.FAILED,
)


@dataclass(frozen=True)
class Client:
    ip: str | None
    user_agent: str | None
    channel: str  # form | api | demo


@dataclass(frozen=True)
class Receipt:
    message_id: int
    conversation_id: int
    status: str  # accepted | spam | duplicate
    urgent: bool
    duplicate_of: int | None = None


def check_rate_limits(
    session: Session, *, settings: Settings, email: str, ip_key: str | None, now: datetime
) -> None:
    """Raise RateLimited (429 with Retry-After) when the address or the client sent too much."""
    checks = [(f"addr:{email}", settings.rate_limit_address)]
    if ip_key:
        checks.insert(0, (f"ip:{ip_key}", settings.rate_limit_ip))
    for key, rule in checks:
        wait = ratelimit.hit(session, key=key, rule=ratelimit.Rule.parse(rule), now=now)
        if wait is not None:
            raise RateLimited(
                "You have sent several messages in a short time. "
                f"Please wait {wait} seconds and send it again.",
                retry_after=wait,
            )


def receive_submission(
    session: Session,
    *,
    submission: Submission,
    client: Client,
    settings: Settings,
    now: datetime,
    urgent: bool = False,
) -> Receipt:
    """Rate-limit, classify and store one submission; never drops a legitimate one."""
    ip_key = (
        client_ip_key(settings.secret_key, client.ip)
        if settings.store_client_ip == "hash"
        else client.ip
    )
    check_rate_limits(session, settings=settings, email=submission.email, ip_key=ip_key, now=now)
    reason = spam_reason(
        submission,
        secret_key=settings.secret_key,
        min_fill_seconds=settings.min_fill_seconds,
        now=now,
        token_required=client.channel == "form",
    )
    print_ = fingerprint(submission.email, submission.message)
    row = {
        "name": submission.name,
        "email": submission.email,
        "subject": submission.subject,
        "body": submission.message,
        "source_page": submission.page,
        "channel": client.channel,
        "client_ip": ip_key,
        "user_agent": (client.user_agent or "")[:500] or None,
        "received_at": now,
        "fingerprint": print_,
        "urgent": urgent and reason is None,
        "duplicate_count": 0,
    }
    if reason is None:
        window = now - timedelta(minutes=settings.duplicate_window_minutes)
        original = _find_recent_original(session, print_=print_, since=window)
        if original is not None:
            return _fold_duplicate(session, row=row, original=original)

    contact_id = _upsert_contact(session, email=submission.email, name=submission.name, now=now)
    if reason is not None:
        conversation_id = _new_conversation(
            session, contact_id=contact_id, subject=submission.subject, now=now,
            state=ConversationState.SPAM, urgent=False,
        )
    else:
        conversation_id = _join_or_open_conversation(
            session, contact_id=contact_id, subject=submission.subject, now=now, urgent=urgent
        )
    row.update(
        contact_id=contact_id,
        conversation_id=conversation_id,
        status=MessageStatus.SPAM if reason else MessageStatus.ACCEPTED,
        spam_reason=reason,
        # spam is never drafted: mark it done so the drafting queue skips it
        drafted_at=now if reason else None,
    )
    message_id = session.execute(sa.insert(MESSAGE).values(row).returning(MESSAGE.c.id)).scalar_one()
    return Receipt(
        message_id=message_id,
        conversation_id=conversation_id,
        status=row["status"],
        urgent=row["urgent"],
    )


def _find_recent_original(session: Session, *, print_: str, since: datetime) -> sa.Row | None:
    query = (
        sa.select(MESSAGE.c.id, MESSAGE.c.conversation_id, MESSAGE.c.contact_id, MESSAGE.c.urgent)
        .where(
            MESSAGE.c.fingerprint == print_,
            MESSAGE.c.received_at >= since,
            MESSAGE.c.status == MessageStatus.ACCEPTED,
        )
        .order_by(MESSAGE.c.id)
        .limit(1)
    )
    return session.execute(query).first()


def _fold_duplicate(session: Session, *, row: dict, original: sa.Row) -> Receipt:
    row.update(
        contact_id=original.contact_id,
        conversation_id=original.conversation_id,
        status=MessageStatus.DUPLICATE,
        duplicate_of_id=original.id,
        drafted_at=row["received_at"],
    )
    message_id = session.execute(sa.insert(MESSAGE).values(row).returning(MESSAGE.c.id)).scalar_one()
    session.execute(
        sa.update(MESSAGE)
        .where(MESSAGE.c.id == original.id)
        .values(duplicate_count=MESSAGE.c.duplicate_count + 1)
    )
    return Receipt(
        message_id=message_id,
        conversation_id=original.conversation_id,
        status=MessageStatus.DUPLICATE,
        urgent=original.urgent,
        duplicate_of=original.id,
    )


def _upsert_contact(session: Session, *, email: str, name: str, now: datetime) -> int:
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(CONTACT)
        .values(email=email, name=name, created_at=now)
        .on_conflict_do_update(index_elements=["email"], set_={"name": name})
        .returning(CONTACT.c.id)
    )
    return session.execute(statement).scalar_one()


def _new_conversation(
    session: Session, *, contact_id: int, subject: str, now: datetime, state: str, urgent: bool
) -> int:
    values = {
        "contact_id": contact_id,
        "subject": subject[:300],
        "state": state,
        "urgent": urgent,
        "created_at": now,
        "updated_at": now,
        "last_message_at": now,
    }
    return session.execute(
        sa.insert(CONVERSATION).values(values).returning(CONVERSATION.c.id)
    ).scalar_one()


def _join_or_open_conversation(
    session: Session, *, contact_id: int, subject: str, now: datetime, urgent: bool
) -> int:
    """A new message from someone with an open conversation joins it and puts it back in review."""
    existing = session.execute(
        sa.select(CONVERSATION.c.id)
        .where(CONVERSATION.c.contact_id == contact_id, CONVERSATION.c.state.in_(OPEN_STATES))
        .order_by(CONVERSATION.c.id.desc())
        .limit(1)
    ).scalar()
    if existing is None:
        return _new_conversation(
            session, contact_id=contact_id, subject=subject, now=now,
            state=ConversationState.REVIEW, urgent=urgent,
        )
    changes: dict = {"state": ConversationState.REVIEW, "last_message_at": now, "updated_at": now}
    if urgent:
        changes["urgent"] = True
    session.execute(sa.update(CONVERSATION).where(CONVERSATION.c.id == existing).values(changes))
    return existing
