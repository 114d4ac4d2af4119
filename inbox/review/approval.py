"""Approving a reply: the draft becomes the reply mail in the outbox, in the caller's transaction.

What is approved is what the nurse sees: the subject and text in the edit box come with the
approval, and when they differ from the saved draft they are saved first (same version check,
same audit) and that version is sent. Nothing is sent here: the worker delivers it. Audited;
flushes, never commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from inbox.conversations import lifecycle
from inbox.conversations.models import Message, MessageStatus
from inbox.drafting import edits
from inbox.drafting.labels import record_decision
from inbox.drafting.models import Decision
from inbox.errors import Conflict
from inbox.mails.render import STAFF_PLACEHOLDER
from inbox.outbox.models import MailKind, MailState, OutboxMail
from inbox.outbox.service import enqueue_mail
from inbox.runtime import Runtime
from inbox.staff.models import StaffUser


def approve_reply(
    session: Session,
    *,
    runtime: Runtime,
    conversation_id: int,
    staff: StaffUser,
    expected_version: int,
    now: datetime,
    subject: str | None = None,
    text: str | None = None,
) -> OutboxMail:
    """Queue the draft as the reply in the caller's transaction; nothing is sent here.
    `subject` and `text`, when given, are the edit box as the nurse left it (saved first if
    changed; refused, with the reason, if they cannot make a mail)."""
    draft = edits.current_draft(
        session, conversation_id=conversation_id, expected_version=expected_version
    )
    if subject is not None and text is not None:
        edits.apply_edit(
            session, runtime=runtime, draft=draft, subject=subject, text=text, staff=staff, now=now
        )
    conversation = lifecycle.locked(session, conversation_id=conversation_id)  # already held
    if STAFF_PLACEHOLDER in draft.text_body or STAFF_PLACEHOLDER in draft.html_body:
        raise Conflict(
            f"Nothing was sent: the reply still contains {STAFF_PLACEHOLDER}. Write the answer "
            "in its place, then approve."
        )
    newer = session.exec(
        select(col(Message.id)).where(
            Message.conversation_id == conversation_id,
            Message.status == MessageStatus.ACCEPTED,
            col(Message.id) > draft.message_id,
        )
    ).first()
    if newer is not None:
        raise Conflict(
            "Nothing was sent: the patient wrote again after this draft was made. "
            "Reload to see the new message."
        )
    message = session.get(Message, draft.message_id)
    assert message is not None
    mail = enqueue_mail(
        session,
        settings=runtime.settings,
        kind=MailKind.REPLY,
        recipient=message.email,
        subject=draft.subject,
        text=draft.text_body,
        html=draft.html_body,
        conversation_id=conversation_id,
        automatic=False,
        send_after=now,
        now=now,
    )
    lifecycle.queue_reply(conversation, now=now)
    if mail.state == MailState.FAILED:  # it could not be built: staff see why on the page
        lifecycle.reply_failed(conversation, now=now)
    record_decision(
        session, conversation=conversation, decision=Decision.APPROVED, staff=staff, now=now
    )
    edits.audit_conversation(
        session,
        staff=staff,
        action="approve",
        conversation_id=conversation_id,
        now=now,
        detail=f"outbox mail {mail.id}",
    )
    session.flush()
    return mail
