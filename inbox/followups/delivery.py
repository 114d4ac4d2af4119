"""Sending follow-ups that are due: the worker's job and staff's "send now".

The job claims due follow-ups the way the outbox claims mails (`inbox.queues.claim`), setting a
lease. Each claimed follow-up is
then handled in its own transaction that locks the conversation, marks the follow-up sent only if
this worker still holds it (`state = 'claimed' AND lease_owner = me`) and writes the outbox row,
so a follow-up is enqueued once, whatever number of workers run or die. A worker that died
holding a lease is taken over when the lease expires.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from inbox import queues
from inbox.conversations.models import Contact, Conversation, ConversationState, Message
from inbox.db import session_scope
from inbox.drafting.models import Draft
from inbox.followups.models import FollowUp, FollowUpState
from inbox.followups.service import SUPPRESSED, audit, is_suppressed, pending_follow_up
from inbox.followups.unsubscribe import token_for, unsubscribe_headers, unsubscribe_url
from inbox.outbox.models import MailKind, OutboxMail
from inbox.outbox.service import enqueue_mail

if TYPE_CHECKING:
    from inbox.runtime import Runtime
    from inbox.staff.models import StaffUser

log = logging.getLogger(__name__)
_table = FollowUp.__table__  # type: ignore[attr-defined]


def claim_due(
    engine: Engine, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[tuple[int, int]]:
    """Lease up to `limit` due follow-ups (expired leases first): (id, conversation_id) each."""
    expired = (_table.c.state == FollowUpState.CLAIMED) & (_table.c.lease_expires_at < now)
    due = (_table.c.state == FollowUpState.SCHEDULED) & (_table.c.due_at <= now)
    with engine.begin() as connection:
        rows = queues.claim(
            connection,
            _table,
            key=_table.c.id,
            queues=[
                queues.Queue(condition, (_table.c.due_at, _table.c.id))
                for condition in (expired, due)
            ],
            limit=limit,
            values={
                "state": FollowUpState.CLAIMED,
                "lease_owner": owner,
                "lease_expires_at": now + lease,
            },
            returning=(_table.c.id, _table.c.conversation_id),
        )
    return [(int(row[0]), int(row[1])) for row in rows]


def send_due_follow_ups(runtime: Runtime, *, owner: str | None = None) -> int:
    """The worker's job: hand every due follow-up to the outbox; returns how many were handled."""
    settings = runtime.settings
    owner = owner or f"followups:{uuid.uuid4().hex[:12]}"
    handled = 0
    while True:
        now = runtime.clock.now()
        claimed = claim_due(
            runtime.engine, owner=owner, now=now,
            lease=timedelta(seconds=settings.worker_lease_seconds),
            limit=max(1, settings.worker_batch_size),
        )  # fmt: skip
        if not claimed:
            return handled
        for follow_up_id, conversation_id in claimed:
            try:
                with session_scope(runtime.engine) as session:
                    if _take(session, follow_up_id, conversation_id, owner=owner, now=now):
                        follow_up = session.get(FollowUp, follow_up_id)
                        assert follow_up is not None
                        deliver(session, runtime=runtime, follow_up=follow_up, now=now)
                        handled += 1
            except Exception:
                # The lease runs out and another run tries again; the others go on meanwhile.
                log.exception("follow-up %s could not be sent", follow_up_id)
        if len(claimed) < settings.worker_batch_size:
            return handled


def _take(
    session: Session, follow_up_id: int, conversation_id: int, *, owner: str, now: datetime
) -> bool:
    """Lock the conversation, then turn our claim into 'sent' (False: it is not ours any more)."""
    session.get(Conversation, conversation_id, with_for_update=True)
    result = session.execute(
        sa.update(_table)
        .where(_table.c.id == follow_up_id)
        .where(_table.c.state == FollowUpState.CLAIMED)
        .where(_table.c.lease_owner == owner)
        .values(state=FollowUpState.SENT, lease_owner=None, lease_expires_at=None, updated_at=now)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def deliver(
    session: Session, *, runtime: Runtime, follow_up: FollowUp, now: datetime
) -> OutboxMail | None:
    """Enqueue the follow-up mail and mark the follow-up sent, or cancel it when it must not go
    (the conversation moved on, or the address is suppressed). The conversation is locked."""
    conversation = session.get(Conversation, follow_up.conversation_id)
    reason = _reason_not_to_send(session, follow_up=follow_up, conversation=conversation)
    if reason is not None:
        follow_up.state, follow_up.cancel_reason = FollowUpState.CANCELLED, reason
        follow_up.updated_at = now
        session.add(follow_up)
        session.flush()
        return None
    assert conversation is not None
    settings = runtime.settings
    name, section_ids = _name_and_sections(session, conversation=conversation)
    sections = [runtime.knowledge.section(section_id) for section_id in section_ids]
    token = token_for(session, email=follow_up.recipient, now=now)
    rendered = runtime.renderer.render_follow_up(
        name=name,
        sections=[section for section in sections if section is not None],
        unsubscribe_url=unsubscribe_url(settings, token),
    )
    mail = enqueue_mail(
        session, settings=settings, kind=MailKind.FOLLOW_UP, recipient=follow_up.recipient,
        subject=rendered.subject, text=rendered.text, html=rendered.html,
        conversation_id=conversation.id, automatic=True, send_after=now, now=now,
        extra_headers=unsubscribe_headers(settings, token),
        hourly_cap=settings.automatic_mails_per_hour,
    )  # fmt: skip
    follow_up.state, follow_up.outbox_mail_id, follow_up.updated_at = (
        FollowUpState.SENT,
        mail.id,
        now,
    )
    session.add(follow_up)
    session.flush()
    return mail


def send_follow_up_now(
    session: Session, *, runtime: Runtime, follow_up_id: int, staff: StaffUser, now: datetime
) -> OutboxMail | None:
    """Staff send one scheduled follow-up at once (None: it was cancelled, and why is recorded)."""
    follow_up = pending_follow_up(session, follow_up_id=follow_up_id)
    mail = deliver(session, runtime=runtime, follow_up=follow_up, now=now)
    detail = f"outbox mail {mail.id}" if mail else f"not sent: {follow_up.cancel_reason}"
    audit(
        session, staff=staff, action="follow-up send", follow_up=follow_up, now=now, detail=detail
    )
    return mail


def _reason_not_to_send(
    session: Session, *, follow_up: FollowUp, conversation: Conversation | None
) -> str | None:
    if conversation is None:
        return "the conversation is gone"
    if conversation.state != ConversationState.SENT:
        return f"the conversation is {conversation.state}"
    if is_suppressed(session, follow_up.recipient):
        return SUPPRESSED
    return None


def _name_and_sections(session: Session, *, conversation: Conversation) -> tuple[str, list[str]]:
    """The name the patient gave in the answered message, and the sections the reply linked."""
    draft = session.exec(select(Draft).where(Draft.conversation_id == conversation.id)).first()
    name = None
    if draft is not None:
        message = session.get(Message, draft.message_id)
        name = message.name if message is not None else None
    if name is None:
        name = session.exec(
            select(Message.name)
            .where(Message.conversation_id == conversation.id)
            .order_by(col(Message.id).desc())
        ).first()
    if name is None:
        contact = session.get(Contact, conversation.contact_id)
        name = contact.name if contact is not None else ""
    return name, list(draft.section_ids) if draft is not None else []
