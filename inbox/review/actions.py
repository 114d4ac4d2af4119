"""The conversation page's reading and the staff actions on a conversation besides the draft.

What a conversation page shows is gathered by `load_conversation`; the state changes (discard
as spam, close, reopen, re-queue a failed mail, add a note) are keyword-only functions that
flush, never commit, and write one audit entry each. Draft changes live in
`inbox.drafting.service`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox.conversations import lifecycle
from inbox.conversations.models import (
    Contact,
    Conversation,
    ConversationState,
    Message,
    MessageStatus,
)
from inbox.drafting.edits import audit_conversation as _audit
from inbox.drafting.labels import record_decision
from inbox.drafting.models import Decision, Draft, Note
from inbox.drafting.service import get_draft
from inbox.errors import InvalidInput, NotFound
from inbox.followups.service import cancel_follow_ups, requeue_unless_suppressed
from inbox.outbox.models import DeliveryAttempt, MailKind, MailState, OutboxMail
from inbox.outbox.service import mails_for_conversation
from inbox.staff.models import AuditEntry, StaffUser

if TYPE_CHECKING:
    from inbox.knowledge.loader import Section
    from inbox.runtime import Runtime

MAX_NOTE = 5000
OTHER_CONVERSATIONS = 20
VIEWED = "view"  # the audit action of opening a conversation (health data was shown)


@dataclass(frozen=True)
class SectionChoice:
    """One checkbox of the section picker: the section, whether it is in the draft, and why."""

    section: Section
    article_title: str
    chosen: bool
    suggested: bool
    score: float | None
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class MailView:
    mail: OutboxMail
    attempts: list[DeliveryAttempt]


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    contact: Contact
    messages: list[Message]
    others: list[Conversation]
    draft: Draft | None
    choices: list[SectionChoice]
    notes: list[tuple[Note, str]]  # (note, author e-mail)
    mails: list[MailView]
    history: list[AuditEntry]
    differing: frozenset[int] = frozenset()  # messages whose name or address earlier ones lack

    @property
    def drafting(self) -> bool:
        """Whether an accepted message still waits for the worker to draft it."""
        return any(
            m.status == MessageStatus.ACCEPTED and m.drafted_at is None for m in self.messages
        )

    def can(self, change: str) -> bool:
        """Whether staff may make this change (`lifecycle.allows`) in the conversation's state."""
        return lifecycle.allows(self.conversation, change)

    @property
    def phone(self) -> str | None:
        """The number of the newest message that gave one (the patient agreed to be phoned)."""
        return next((m.phone for m in reversed(self.messages) if m.phone is not None), None)

    @property
    def evidence(self) -> list[str]:
        """Every evidence phrase of the suggested sections (for highlighting)."""
        return [phrase for choice in self.choices if choice.suggested for phrase in choice.evidence]


def load_conversation(
    session: Session, *, runtime: Runtime, conversation_id: int
) -> ConversationView:
    """Everything the conversation page shows, as it is: reading it changes nothing (drafting is
    the worker's job; until it has run, the page says the draft is being prepared)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("This conversation does not exist.")
    contact = session.get(Contact, conversation.contact_id)
    assert contact is not None
    messages = list(
        session.exec(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.status != MessageStatus.DUPLICATE,
            )
            .order_by(col(Message.received_at), col(Message.id))
        )
    )
    others = list(
        session.exec(
            select(Conversation)
            .where(
                Conversation.contact_id == conversation.contact_id,
                Conversation.id != conversation_id,
            )
            .order_by(col(Conversation.id).desc())
            .limit(OTHER_CONVERSATIONS)
        )
    )
    draft = get_draft(session, conversation_id=conversation_id)
    notes = list(
        session.execute(
            sa.select(Note, col(StaffUser.email))
            .outerjoin(StaffUser, col(StaffUser.id) == col(Note.staff_id))
            .where(col(Note.conversation_id) == conversation_id)
            .order_by(col(Note.created_at), col(Note.id))
        ).all()
    )
    history = list(
        session.exec(
            select(AuditEntry)
            .where(
                AuditEntry.target_type == "conversation",
                AuditEntry.target_id == str(conversation_id),
                AuditEntry.action != VIEWED,  # in the audit log, not the conversation's story
            )
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(50)
        )
    )
    return ConversationView(
        conversation=conversation,
        contact=contact,
        messages=messages,
        others=others,
        draft=draft,
        choices=_choices(runtime, draft),
        notes=[(note, email or "system") for note, email in notes],
        mails=_mails(session, conversation_id=conversation_id),
        history=history,
        differing=differing_senders(messages),
    )


def differing_senders(messages: list[Message]) -> frozenset[int]:
    """The messages (oldest first in `messages`) signed with a name or sent from an address that
    no earlier message of the conversation carries: someone else may be writing in it."""
    names: set[str] = set()
    addresses: set[str] = set()
    differing = set()
    for message in messages:
        name, address = " ".join(message.name.casefold().split()), message.email.strip().lower()
        if names and (name not in names or address not in addresses):
            assert message.id is not None
            differing.add(message.id)
        names.add(name)
        addresses.add(address)
    return frozenset(differing)


def discard_as_spam(
    session: Session, *, conversation_id: int, staff: StaffUser, now: datetime
) -> None:
    """Mark the conversation as spam: out of the inbox, never answered, purged later."""
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    lifecycle.discard_as_spam(conversation, now=now)
    _audit(session, staff=staff, action="discard", conversation_id=conversation_id, now=now)


def close_conversation(
    session: Session, *, conversation_id: int, staff: StaffUser, now: datetime
) -> None:
    """Close the conversation: nothing more to do for it; its follow-ups are cancelled."""
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    lifecycle.close(conversation, now=now)
    record_decision(
        session, conversation=conversation, decision=Decision.CLOSED, staff=staff, now=now
    )
    _audit(session, staff=staff, action="close", conversation_id=conversation_id, now=now)
    cancel_follow_ups(session, conversation_id=conversation_id, reason="closed", now=now)


def reopen_conversation(
    session: Session, *, conversation_id: int, staff: StaffUser, now: datetime
) -> None:
    """Put a closed or spam conversation back into review (its spam-marked messages with it)."""
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    lifecycle.reopen_by_staff(session, conversation, now=now)
    _audit(session, staff=staff, action="reopen", conversation_id=conversation_id, now=now)


def requeue_failed_mail(
    session: Session, *, conversation_id: int, mail_id: int, staff: StaffUser, now: datetime
) -> OutboxMail:
    """Send a failed or held mail of this conversation again (same Message-ID); an
    acknowledgement or follow-up to an address suppressed since is cancelled instead (the
    returned mail's state says which)."""
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    mail = session.get(OutboxMail, mail_id)
    if mail is None or mail.conversation_id != conversation_id:
        raise NotFound("This mail does not belong to this conversation.")
    mail = requeue_unless_suppressed(session, mail_id=mail_id, now=now)
    if mail.kind == MailKind.REPLY and conversation.state == ConversationState.FAILED:
        lifecycle.queue_reply(conversation, now=now)
    sent_again = mail.state != MailState.CANCELLED
    _audit(
        session,
        staff=staff,
        action="retry" if sent_again else "cancel mail",
        conversation_id=conversation_id,
        now=now,
        detail=f"outbox mail {mail_id}" + ("" if sent_again else f": {mail.last_error}"),
    )
    return mail


def add_note(
    session: Session, *, conversation_id: int, body: str, staff: StaffUser, now: datetime
) -> Note:
    """An internal note for colleagues; never sent to the patient."""
    lifecycle.locked(session, conversation_id=conversation_id)
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise InvalidInput({"note": "Please write the note first."})
    if len(body) > MAX_NOTE:
        raise InvalidInput({"note": f"Please keep a note under {MAX_NOTE} characters."})
    note = Note(conversation_id=conversation_id, staff_id=staff.id, body=body, created_at=now)
    session.add(note)
    _audit(session, staff=staff, action="note", conversation_id=conversation_id, now=now)
    session.flush()
    return note


def record_view(session: Session, *, conversation_id: int, staff: StaffUser, now: datetime) -> None:
    """Audit that a staff member opened the conversation (health data was shown): the one write
    a page view makes, an audit entry and nothing else."""
    _audit(session, staff=staff, action=VIEWED, conversation_id=conversation_id, now=now)


def _choices(runtime: Runtime, draft: Draft | None) -> list[SectionChoice]:
    suggested: dict[str, dict[str, Any]] = {
        item["section_id"]: item for item in (draft.suggested if draft else [])
    }
    chosen = set(draft.section_ids if draft else [])
    choices = []
    for article in runtime.knowledge.articles:
        for section in article.sections:
            match = suggested.get(section.id)
            choices.append(
                SectionChoice(
                    section=section,
                    article_title=article.title,
                    chosen=section.id in chosen,
                    suggested=match is not None,
                    score=float(match["score"]) if match else None,
                    evidence=tuple(match["evidence"]) if match else (),
                )
            )
    return choices


def _mails(session: Session, *, conversation_id: int) -> list[MailView]:
    mails = list(mails_for_conversation(session, conversation_id))
    attempts: dict[int, list[DeliveryAttempt]] = {}
    if mails:
        for attempt in session.exec(
            select(DeliveryAttempt)
            .where(col(DeliveryAttempt.mail_id).in_([mail.id for mail in mails]))
            .order_by(col(DeliveryAttempt.at), col(DeliveryAttempt.id))
        ):
            attempts.setdefault(attempt.mail_id, []).append(attempt)
    return [MailView(mail=mail, attempts=attempts.get(mail.id or 0, [])) for mail in mails]
