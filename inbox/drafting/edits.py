"""Staff's changes to a conversation's reply draft: re-drafting with other sections, editing its
text, rebuilding it for another kind of message (approving it is `inbox.review.approval`).

Every change bumps the draft's `version`; a change based on an older version is refused
(optimistic locking), so two staff members never silently overwrite each other. Each change is
audited. Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from inbox.conversations import lifecycle
from inbox.conversations.models import (
    Conversation,
    ConversationKind,
    ConversationState,
    Message,
    Urgency,
)
from inbox.drafting.models import Draft
from inbox.drafting.service import get_draft, render_reply_mail
from inbox.errors import Conflict, InvalidInput, NotFound
from inbox.mails.edited import checked_edit
from inbox.mails.render import RenderedMail
from inbox.staff.audit import record

if TYPE_CHECKING:
    from inbox.runtime import Runtime
    from inbox.staff.models import StaffUser

STALE_DRAFT = (
    "Someone else changed this draft while you were working on it. "
    "Your change was not saved: the page now shows their version."
)


def redraft(
    session: Session,
    *,
    runtime: Runtime,
    conversation_id: int,
    section_ids: Sequence[str],
    staff: StaffUser,
    expected_version: int,
    now: datetime,
) -> Draft:
    """Rebuild the draft from the sections staff chose (replacing any hand-edited text)."""
    draft = current_draft(
        session, conversation_id=conversation_id, expected_version=expected_version
    )
    known = {section.id for section in runtime.knowledge.sections()}
    unknown = [section_id for section_id in section_ids if section_id not in known]
    if unknown:
        raise InvalidInput({"section_ids": f"Unknown section: {', '.join(unknown)}."})
    chosen = _ordered_sections(runtime, suggested=draft.suggested, chosen=set(section_ids))
    message = session.get(Message, draft.message_id)
    assert message is not None
    conversation = session.get(Conversation, conversation_id)
    mail = render_reply_mail(
        runtime,
        message=message,
        section_ids=chosen,
        urgent=draft.urgent,
        reasons=draft.urgency_reasons,
        kind=conversation.kind if conversation else ConversationKind.CLINICAL,
        possible=draft.urgency == Urgency.POSSIBLE,
    )
    draft.section_ids = chosen
    _apply(draft, mail=mail, staff=staff, now=now)
    draft.edited = False
    audit_conversation(
        session,
        staff=staff,
        action="redraft",
        conversation_id=conversation_id,
        now=now,
        detail="sections: " + (", ".join(chosen) or "none"),
    )
    session.flush()
    return draft


def save_draft(
    session: Session,
    *,
    runtime: Runtime,
    conversation_id: int,
    subject: str,
    text: str,
    expected_version: int,
    staff: StaffUser,
    now: datetime,
) -> Draft:
    """Store staff's subject and body; the mail keeps the reply's design around what they wrote."""
    draft = current_draft(
        session, conversation_id=conversation_id, expected_version=expected_version
    )
    apply_edit(
        session, runtime=runtime, draft=draft, subject=subject, text=text, staff=staff, now=now
    )
    return draft


def apply_edit(
    session: Session,
    *,
    runtime: Runtime,
    draft: Draft,
    subject: str,
    text: str,
    staff: StaffUser,
    now: datetime,
) -> bool:
    """Put staff's subject and body into a draft already checked by `current_draft`; False
    (and nothing written) when they are what the draft holds."""
    mail = edited_mail(session, runtime=runtime, draft=draft, subject=subject, text=text)
    if (mail.subject, mail.body) == (draft.subject, draft.body):
        return False
    _apply(draft, mail=mail, staff=staff, now=now)
    draft.edited = True
    audit_conversation(
        session, staff=staff, action="edit", conversation_id=draft.conversation_id, now=now
    )
    session.flush()
    return True


def answered_message(session: Session, *, draft: Draft) -> Message:
    """The patient's message the draft answers."""
    message = session.get(Message, draft.message_id)
    assert message is not None
    return message


def edited_mail(
    session: Session, *, runtime: Runtime, draft: Draft, subject: str, text: str
) -> RenderedMail:
    """The reply that staff's subject and body make for this draft (what saving stores, and
    the preview shows): the same design, emergency box and quoted question as the draft."""
    subject, body = checked_edit(subject=subject, text=text)
    message = answered_message(session, draft=draft)
    return runtime.renderer.render_reply(
        name=message.name,
        sections=[],
        urgent=draft.urgent,
        urgency_reasons=list(draft.urgency_reasons),
        question=message.body,
        body=body,
        subject=subject,
    )


def rebuild_for_kind(
    session: Session, *, runtime: Runtime, conversation: Conversation, now: datetime
) -> Draft | None:
    """After staff changed the kind: a draft nobody edited is rebuilt to fit it (a clinical
    question gets triage's sections back, another kind its own template without sections)."""
    draft = get_draft(session, conversation_id=conversation.id or 0)
    if draft is None or draft.edited or conversation.state != ConversationState.REVIEW:
        return draft
    message = session.get(Message, draft.message_id)
    if message is None:
        return draft
    clinical = conversation.kind == ConversationKind.CLINICAL
    chosen = [str(item["section_id"]) for item in draft.suggested] if clinical else []
    mail = render_reply_mail(
        runtime, message=message, section_ids=chosen, urgent=draft.urgent,
        reasons=draft.urgency_reasons, kind=conversation.kind,
        possible=draft.urgency == Urgency.POSSIBLE,
    )  # fmt: skip
    draft.section_ids = chosen
    draft.subject, draft.text_body, draft.html_body = mail.subject, mail.text, mail.html
    draft.version += 1
    draft.updated_at = now
    session.flush()
    return draft


def _ordered_sections(
    runtime: Runtime, *, suggested: list[dict[str, Any]], chosen: set[str]
) -> list[str]:
    """Chosen ids in a stable order: the matcher's ranking first, then the articles' order."""
    ranked = [item["section_id"] for item in suggested if item["section_id"] in chosen]
    rest = [s.id for s in runtime.knowledge.sections() if s.id in chosen and s.id not in ranked]
    return ranked + rest


def current_draft(session: Session, *, conversation_id: int, expected_version: int) -> Draft:
    """The draft of a conversation in review, unchanged since the client loaded
    `expected_version`.

    The conversation is locked first, in the same order as `draft_message`, so that a staff
    change and the drafting worker wait for each other instead of deadlocking.
    """
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    if conversation.state != ConversationState.REVIEW:
        raise Conflict(
            f"This conversation is {conversation.state}: its reply can no longer be changed "
            "or approved."
        )
    draft = session.exec(
        select(Draft).where(Draft.conversation_id == conversation_id).with_for_update()
    ).first()
    if draft is None:
        raise NotFound("This conversation has no draft yet.")
    if draft.version != expected_version:
        raise Conflict(STALE_DRAFT)
    return draft


def _apply(draft: Draft, *, mail: RenderedMail, staff: StaffUser, now: datetime) -> None:
    draft.subject, draft.text_body, draft.html_body = mail.subject, mail.text, mail.html
    draft.body = mail.body
    draft.version += 1
    draft.updated_at = now
    draft.updated_by_id = staff.id


def audit_conversation(
    session: Session,
    *,
    staff: StaffUser,
    action: str,
    conversation_id: int,
    now: datetime,
    detail: str | None = None,
) -> None:
    """One audit entry for a staff action on a conversation."""
    record(
        session,
        actor=staff,
        action=action,
        target_type="conversation",
        target_id=str(conversation_id),
        detail=detail,
        now=now,
    )
