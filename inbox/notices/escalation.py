"""An urgent conversation nobody has opened: alert staff again, then escalate.

Each urgent (or "check now") conversation in review is alerted once when triaged
(`inbox.notices.service.alert_staff`). If no staff member has opened it
`INBOX_URGENT_ESCALATE_MINUTES` after its newest message, the worker alerts INBOX_STAFF_ALERT_TO
again; if it is still unopened as long again after that reminder, the alert goes to
INBOX_ESCALATION_EMAIL. A new message from the patient starts the clock again.

"Opened" is read from the audit log: the page view that is already recorded there (who saw this
patient's data) or any staff action on the conversation since its newest message. Nothing new is
written when a page is shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox.conversations import lifecycle
from inbox.conversations.models import Conversation, ConversationState, Urgency
from inbox.db import session_scope
from inbox.notices.service import conversation_url
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.service import enqueue_mail
from inbox.staff.models import AuditEntry

if TYPE_CHECKING:
    from inbox.runtime import Runtime

BATCH = 50  # conversations per tick
LOOK_BACK = timedelta(days=7)  # older unopened ones are the daily digest's


def opened_since(session: Session, *, conversation_id: int, since: datetime) -> bool:
    """Whether a staff member opened or acted on the conversation at or after `since`."""
    return (
        session.exec(
            select(AuditEntry.id)
            .where(
                AuditEntry.target_type == "conversation",
                AuditEntry.target_id == str(conversation_id),
                col(AuditEntry.staff_id).is_not(None),
                col(AuditEntry.at) >= since,
            )
            .limit(1)
        ).first()
        is not None
    )


def _due(session: Session, *, now: datetime, after: timedelta, limit: int) -> list[Conversation]:
    """Urgent conversations in review waiting longer than `after` and not yet escalated since
    their newest message; locked, skipping those another worker holds."""
    c = Conversation
    not_escalated = sa.or_(
        col(c.escalated_at).is_(None), col(c.escalated_at) < col(c.last_message_at)
    )
    return list(
        session.exec(
            select(c)
            .where(
                c.state == ConversationState.REVIEW,
                col(c.urgent).is_(True),
                col(c.last_message_at) <= now - after,
                col(c.last_message_at) >= now - LOOK_BACK,
                not_escalated,
            )
            .order_by(col(c.last_message_at), col(c.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def escalate_unopened(session: Session, *, runtime: Runtime, now: datetime) -> list[OutboxMail]:
    """Remind staff of, or escalate, each urgent conversation nobody opened in time; returns
    the mails queued."""
    settings = runtime.settings
    minutes = settings.urgent_escalate_minutes
    if minutes <= 0:
        return []
    after = timedelta(minutes=minutes)
    mails: list[OutboxMail] = []
    for conversation in _due(session, now=now, after=after, limit=BATCH):
        since = conversation.last_message_at
        if opened_since(session, conversation_id=conversation.id or 0, since=since):
            continue
        reminded = conversation.reminded_at is not None and conversation.reminded_at >= since
        if not reminded:
            mail = _alert(session, runtime, conversation, to=settings.staff_alert_to, now=now)
            lifecycle.reminded(conversation, now=now)
        elif conversation.reminded_at is not None and now - conversation.reminded_at >= after:
            mail = _alert(
                session, runtime, conversation, to=settings.escalation_email, now=now,
                escalated=True,
            )  # fmt: skip
            lifecycle.escalated(conversation, now=now)
        else:
            continue
        session.add(conversation)
        if mail is not None:
            mails.append(mail)
    session.flush()
    return mails


def _alert(
    session: Session,
    runtime: Runtime,
    conversation: Conversation,
    *,
    to: str,
    now: datetime,
    escalated: bool = False,
) -> OutboxMail | None:
    if not to:
        return None
    waited = int((now - conversation.last_message_at).total_seconds() // 60)
    rendered = runtime.renderer.render_staff_alert(
        conversation_url=conversation_url(runtime, conversation.id or 0),
        reasons=[],
        received_at=conversation.last_message_at,
        possible=conversation.urgency == Urgency.POSSIBLE,
        unopened_minutes=max(waited, 1),
        escalated=escalated,
    )
    return enqueue_mail(
        session, settings=runtime.settings, kind=MailKind.STAFF_ALERT, recipient=to,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        conversation_id=None, automatic=True, send_after=now, now=now,
    )  # fmt: skip


def escalation_job(runtime: Runtime) -> int:
    """The worker's part, each tick: how many reminders and escalations it queued."""
    if runtime.settings.urgent_escalate_minutes <= 0:
        return 0
    now = runtime.clock.now()
    with session_scope(runtime.engine) as session:
        return len(escalate_unopened(session, runtime=runtime, now=now))
