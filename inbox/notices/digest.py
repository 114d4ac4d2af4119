"""The daily digest for staff: conversations waiting for a reply longer than
INBOX_DIGEST_AFTER_HOURS, sent every morning when the quiet hours end."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from inbox.conversations.models import Conversation, ConversationState
from inbox.followups.daily import run_daily
from inbox.followups.schedule import next_morning
from inbox.mails.render import DigestItem
from inbox.notices.service import conversation_url
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.service import enqueue_mail
from inbox.runtime import Runtime


def send_digest(session: Session, *, runtime: Runtime, now: datetime) -> OutboxMail | None:
    """The daily list for staff of conversations waiting for a reply longer than
    INBOX_DIGEST_AFTER_HOURS (urgent first); nothing is sent when none is waiting that long."""
    settings = runtime.settings
    if not settings.staff_alert_to:
        return None
    cutoff = now - timedelta(hours=settings.digest_after_hours)
    waiting = session.execute(
        sa.select(col(Conversation.id), col(Conversation.urgent), col(Conversation.last_message_at))
        .where(col(Conversation.state) == ConversationState.REVIEW)
        .where(col(Conversation.last_message_at) < cutoff)
        .order_by(col(Conversation.last_message_at))
        .limit(500)
    ).all()
    if not waiting:
        return None
    items = [
        DigestItem(
            conversation_url=conversation_url(runtime, conversation_id),
            age_hours=(now - waited_since).total_seconds() / 3600,
            urgent=bool(urgent),
        )
        for conversation_id, urgent, waited_since in waiting
    ]
    rendered = runtime.renderer.render_digest(
        items=items, older_than_hours=settings.digest_after_hours
    )
    return enqueue_mail(
        session, settings=settings, kind=MailKind.DIGEST, recipient=settings.staff_alert_to,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        automatic=True, send_after=now, now=now,
    )  # fmt: skip


def digest_job(runtime: Runtime) -> int:
    """The worker's job: the staff digest, every morning when the quiet hours end (local time)."""
    now = runtime.clock.now()
    morning = next_morning(now, settings=runtime.settings)

    def action(session: Session, moment: datetime) -> int:
        return int(send_digest(session, runtime=runtime, now=moment) is not None)

    return run_daily(runtime, name="digest", action=action, first_due=morning, next_due=morning)
