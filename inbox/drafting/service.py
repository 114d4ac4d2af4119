"""Drafting: turn a message into the conversation's reply draft.

One draft per conversation. It answers the newest accepted message; staff re-draft it with
their own choice of sections and edit its text (`inbox.drafting.edits`).

When the patient writes again after staff edited the draft, the draft is rebuilt for the new
message (the reply must answer the newest question) and the edited text is kept as an
internal note, so no staff work is lost.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox.conversations import lifecycle, urgency
from inbox.conversations.models import (
    Conversation,
    ConversationKind,
    Message,
    MessageChannel,
    MessageStatus,
    Urgency,
)
from inbox.drafting.models import Draft, Note
from inbox.errors import Conflict, NotFound
from inbox.feedback.links import feedback_urls
from inbox.knowledge.kinds import suggest_kind
from inbox.knowledge.service import Triage, is_model_reason, triage_message
from inbox.mails.render import RenderedMail
from inbox.outbox.models import MailKind, OutboxMail

if TYPE_CHECKING:
    from inbox.runtime import Runtime

# sections, urgent, reasons, kind, possible (unsure: the reply advises care today instead)
RenderKey = tuple[tuple[str, ...], bool, tuple[str, ...], str, bool]


@dataclass(frozen=True)
class Prepared:
    """The slow part of drafting one message, done before its write transaction: the triage,
    and the reply rendered as the message alone calls for. `draft_message` uses what still fits
    once it sees the conversation as it is (and renders again when staff or a newer message
    changed what the reply must say)."""

    message_id: int
    triage: Triage
    rendered: dict[RenderKey, RenderedMail] = field(default_factory=dict)


def prepare_draft(runtime: Runtime, *, message: Message) -> Prepared:
    """Triage `message` and render its reply; reads nothing, writes nothing."""
    assert message.id is not None
    triage = _triage(runtime, message)
    kind = _suggested_kind(runtime, message, triage)
    clinical = kind == ConversationKind.CLINICAL
    section_ids = [match.section_id for match in triage.sections] if clinical else []
    urgent = bool(triage.urgent) or (message.channel == MessageChannel.EMAIL and message.urgent)
    possible = urgent and not _sure(triage, message)
    reasons = list(triage.urgency_reasons)
    key: RenderKey = (tuple(section_ids), urgent, tuple(reasons), kind, possible)
    mail = render_reply_mail(
        runtime, message=message, section_ids=section_ids, urgent=urgent, reasons=reasons,
        kind=kind, possible=possible,
    )  # fmt: skip
    return Prepared(message_id=message.id, triage=triage, rendered={key: mail})


def _sure(triage: Triage, message: Message) -> bool:
    """Whether the emergency signs are sure ones, not only a possible emergency."""
    sure = bool(triage.urgent) and not triage.possible
    if message.channel == MessageChannel.EMAIL and message.urgent:
        # inbound triage also read the whole mail, not only its stripped new part
        sure = sure or message.urgency != Urgency.POSSIBLE
    return sure


def _suggested_kind(runtime: Runtime, message: Message, triage: Triage) -> str:
    return suggest_kind(
        runtime.knowledge, subject=message.subject, text=message.body, filtered=triage.filtered,
        clinical_signs=bool(triage.sections) or emergency_found(triage, message),
    )  # fmt: skip


def _triage(runtime: Runtime, message: Message) -> Triage:
    return triage_message(
        runtime.knowledge, subject=message.subject, text=message.body, page=message.source_page
    )


def draft_message(
    session: Session, *, runtime: Runtime, message_id: int, prepared: Prepared | None = None
) -> Draft:
    """Triage one accepted message and make its conversation's draft answer it (idempotent);
    with `prepared` (`prepare_draft` of the same message), without triaging or rendering again
    what it holds."""
    if prepared is not None and prepared.message_id != message_id:
        prepared = None
    message = session.get(Message, message_id)
    if message is None or message.id is None or message.conversation_id is None:
        raise NotFound("This message does not exist.")
    if message.status != MessageStatus.ACCEPTED:
        raise Conflict("Only accepted messages are drafted; spam and duplicates are not.")
    conversation = _locked_conversation(session, conversation_id=message.conversation_id)
    conversation_id = message.conversation_id
    draft = get_draft(session, conversation_id=conversation_id)
    now = runtime.clock.now()
    if draft is not None and draft.message_id > message.id:
        message.drafted_at = now  # an older message: the draft already answers a newer one
        return draft
    if draft is not None and draft.message_id == message.id and draft.updated_by_id is not None:
        message.drafted_at = message.drafted_at or now  # never undo staff's sections or text
        return draft

    triage = prepared.triage if prepared is not None else _triage(runtime, message)
    suggested = [
        {
            "section_id": match.section_id,
            "score": round(float(match.score), 3),
            "evidence": list(match.evidence),
        }
        for match in triage.sections
    ]
    urgent, reasons = bool(triage.urgent), list(triage.urgency_reasons)
    sure = _sure(triage, message)
    if message.channel == MessageChannel.EMAIL and message.urgent:
        urgent = True  # inbound triage also read the whole mail, not only its stripped new part
    replaced_unanswered = (
        draft is not None and draft.message_id != message.id and _unanswered(session, draft)
    )
    if draft is not None and replaced_unanswered:
        # an urgent question still waiting for its reply stays urgent when the patient adds to it
        urgent = urgent or draft.urgent
        sure = sure or (draft.urgent and draft.urgency == Urgency.URGENT)
        reasons += [reason for reason in draft.urgency_reasons if reason not in reasons]
    possible = urgent and not sure
    kind = _suggested_kind(runtime, message, triage)
    lifecycle.set_kind(conversation, ConversationKind(kind), by_staff=False, now=now)
    # only a clinical question is answered from the articles
    section_ids = (
        [str(item["section_id"]) for item in suggested]
        if conversation.kind == ConversationKind.CLINICAL
        else []
    )
    wanted: RenderKey = (tuple(section_ids), urgent, tuple(reasons), conversation.kind, possible)
    mail = prepared.rendered.get(wanted) if prepared is not None else None
    if mail is None:
        mail = render_reply_mail(
            runtime, message=message, section_ids=section_ids, urgent=urgent, reasons=reasons,
            kind=conversation.kind, possible=possible,
        )  # fmt: skip
    values: dict[str, Any] = {
        "message_id": message.id,
        "suggested": suggested,
        "section_ids": section_ids,
        "urgent": urgent,
        "urgency_reasons": reasons,
        "subject": mail.subject,
        "text_body": mail.text,
        "html_body": mail.html,
        "body": mail.body,
        "edited": False,
    }
    if draft is None:
        draft = Draft(conversation_id=conversation_id, created_at=now, updated_at=now, **values)
        session.add(draft)
    elif any(getattr(draft, key) != value for key, value in values.items()):
        if draft.edited and replaced_unanswered:
            session.add(
                Note(
                    conversation_id=conversation_id,
                    created_at=now,
                    body=(
                        "The patient wrote again, so the draft was rebuilt for the new message. "
                        "The edited text it replaced:\n\n" + draft.text_body
                    ),
                )
            )
        for key, value in values.items():
            setattr(draft, key, value)
        draft.version += 1
        draft.updated_at = now
        draft.updated_by_id = None
    # the inbound first look also read the whole mail, not only its stripped new part
    emergency = bool(triage.urgent) or (message.channel == MessageChannel.EMAIL and message.urgent)
    urgency.record_triage(
        conversation,
        message,
        urgent=emergency,
        urgency=urgency.tier(
            urgent=emergency, possible=triage.possible, needs_reader=triage.needs_reader
        ),
        language=triage.language,
        needs_reader=triage.needs_reader,
        keep_at_least=Urgency(conversation.urgency) if replaced_unanswered else Urgency.ROUTINE,
    )
    draft.urgency = conversation.urgency
    message.drafted_at = now
    session.flush()
    return draft


def get_draft(session: Session, *, conversation_id: int) -> Draft | None:
    """The conversation's draft, if one was made."""
    return session.exec(select(Draft).where(Draft.conversation_id == conversation_id)).first()


def render_reply_mail(
    runtime: Runtime,
    *,
    message: Message,
    section_ids: Sequence[str],
    urgent: bool,
    reasons: Sequence[str],
    kind: str = ConversationKind.CLINICAL,
    possible: bool = False,
) -> RenderedMail:
    """The reply mail; the patient reads the red flags found in their words, not the learned
    model's staff-facing reasons."""
    found = [runtime.knowledge.section(section_id) for section_id in section_ids]
    sections = [section for section in found if section is not None]
    return runtime.renderer.render_reply(
        name=message.name,
        sections=sections,
        urgent=urgent,
        possible=possible,
        urgency_reasons=[reason for reason in reasons if not is_model_reason(reason)],
        question=message.body,
        feedback_urls=feedback_urls(
            runtime.settings,
            message_id=int(message.id or 0),
            section_ids=[section.id for section in sections],
        )
        if message.id
        else None,
        kind=kind,
    )


def emergency_found(triage: Any, message: Message) -> bool:
    """Whether triage (or inbound's first look at a whole mail) found emergency signs."""
    return bool(triage.urgent) or (message.channel == MessageChannel.EMAIL and message.urgent)


def _locked_conversation(session: Session, *, conversation_id: int) -> Conversation:
    """The conversation row, locked on PostgreSQL so that drafting it is one writer at a time."""
    return lifecycle.locked(session, conversation_id=conversation_id)


def _unanswered(session: Session, draft: Draft) -> bool:
    """Whether the draft was never approved (no reply mail was queued after its last change)."""
    queued = session.execute(
        sa.select(col(OutboxMail.id))
        .where(
            col(OutboxMail.conversation_id) == draft.conversation_id,
            col(OutboxMail.kind) == MailKind.REPLY,
            col(OutboxMail.created_at) >= draft.updated_at,
        )
        .limit(1)
    ).first()
    return queued is None
