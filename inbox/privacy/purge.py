"""Retention: delete what is past its time and report how much went.

- spam conversations (intake's and staff-discarded) older than INBOX_SPAM_RETENTION_DAYS,
- closed conversations closed longer than INBOX_CLOSED_RETENTION_DAYS,
  each with its messages, drafts, notes, follow-ups, outbox mails and attempts, and then the
  contacts left with nothing (on SQLite, the words only they had leave the search word list),
- the bodies (text, HTML and the built message) of mails sent longer ago than
  INBOX_SENT_BODY_RETENTION_DAYS (the row stays: who, when, the server's answer),
- the raw bytes of inbound mail older than INBOX_INBOUND_RAW_RETENTION_DAYS (the parsed text
  stays with its conversation; a mail still waiting to be processed keeps them),
- rate-limit windows older than a day, sign-in gates of accounts nobody tried for a day, and
  finished follow-ups of the bodies' age.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col

from inbox.config import Settings
from inbox.conversations.models import Conversation, ConversationState
from inbox.followups.daily import run_daily
from inbox.followups.models import FollowUp, FollowUpState
from inbox.inbound.models import InboundMail, InboundState
from inbox.outbox.models import MailState, OutboxMail
from inbox.privacy.deletion import (
    conversations_being_sent,
    delete_conversations,
    delete_orphan_contacts,
    drop_words_of,
)
from inbox.ratelimit import purge_windows
from inbox.staff.throttle import purge_gates

if TYPE_CHECKING:
    from inbox.runtime import Runtime

RATE_WINDOW_KEEP = timedelta(days=1)  # the longest rate-limit period is a day


def purge(session: Session, *, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete and blank everything past its retention period; returns counts by kind."""
    spam_before = now - timedelta(days=settings.spam_retention_days)
    closed_before = now - timedelta(days=settings.closed_retention_days)
    bodies_before = now - timedelta(days=settings.sent_body_retention_days)
    raw_before = now - timedelta(days=settings.inbound_raw_retention_days)
    spam = _conversations(
        session,
        (col(Conversation.state) == ConversationState.SPAM)
        & (col(Conversation.updated_at) < spam_before),
    )
    closed = _conversations(
        session,
        (col(Conversation.state) == ConversationState.CLOSED)
        & (sa.func.coalesce(Conversation.closed_at, Conversation.updated_at) < closed_before),
    )
    busy = conversations_being_sent(session, [cid for cid, _ in spam + closed])
    spam = [item for item in spam if item[0] not in busy]  # the next run takes them
    closed = [item for item in closed if item[0] not in busy]
    counts = {"spam_conversations": len(spam), "closed_conversations": len(closed)}
    drop_words = drop_words_of(session, [cid for cid, _ in spam + closed])
    deleted = delete_conversations(session, [cid for cid, _ in spam + closed])
    drop_words()  # SQLite's search word list forgets the words nobody else wrote
    counts.update(messages=deleted["messages"], mails=deleted["mails"])
    counts["contacts"] = delete_orphan_contacts(session, [contact for _, contact in spam + closed])
    counts["mail_bodies_blanked"] = _rows(
        session.execute(
            sa.update(OutboxMail)
            .where(col(OutboxMail.state) == MailState.SENT)
            .where(col(OutboxMail.sent_at) < bodies_before)
            .where((col(OutboxMail.text_body) != "") | col(OutboxMail.raw).is_not(None))
            .values(text_body="", html_body="", raw=None)
            .execution_options(synchronize_session=False)
        )
    )
    counts["follow_ups"] = _rows(
        session.execute(
            sa.delete(FollowUp)
            .where(col(FollowUp.state).in_((FollowUpState.SENT, FollowUpState.CANCELLED)))
            .where(col(FollowUp.updated_at) < bodies_before)
            .execution_options(synchronize_session=False)
        )
    )
    counts["inbound_raw_blanked"] = _rows(
        session.execute(
            sa.update(InboundMail)
            .where(col(InboundMail.state) != InboundState.RECEIVED)
            .where(col(InboundMail.received_at) < raw_before)
            .where(col(InboundMail.raw).is_not(None))
            .values(raw=None)
            .execution_options(synchronize_session=False)
        )
    )
    counts["rate_limit_windows"] = purge_windows(session, before=now - RATE_WINDOW_KEEP)
    counts["sign_in_gates"] = purge_gates(session, before=now - RATE_WINDOW_KEEP)
    session.flush()
    return counts


def purge_job(runtime: Runtime) -> int:
    """The worker's job: purge once a day (first run as soon as a worker starts)."""
    now = runtime.clock.now()

    def action(session: Session, moment: datetime) -> int:
        return sum(purge(session, settings=runtime.settings, now=moment).values())

    return run_daily(
        runtime, name="purge", action=action, first_due=now, next_due=now + timedelta(days=1)
    )


def _conversations(session: Session, condition: sa.ColumnElement[bool]) -> list[tuple[int, int]]:
    rows = session.execute(
        sa.select(col(Conversation.id), col(Conversation.contact_id)).where(condition)
    ).all()
    return [(int(row[0]), int(row[1])) for row in rows]


def _rows(result: sa.Result) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
