"""Staff's final decisions as labelled messages, for `inbox triage train --include-staff-labels`.

A decision is final once staff approved a reply: the sections the reply links and whether the
conversation was kept urgent are then what the hospital itself judged right.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, select

from inbox.config import Settings
from inbox.conversations.models import Conversation, ConversationState, Message
from inbox.db import create_db_engine
from inbox.drafting.models import Draft
from inbox.knowledge.evaluation import LabelledMessage

# a reply approved and not yet (or just) sent; later states keep first_reply_at
APPROVED = (ConversationState.QUEUED, ConversationState.SENT)


def staff_labels(settings: Settings) -> list[LabelledMessage]:
    """Every answered message with the sections and urgency staff approved, oldest first."""
    engine = create_db_engine(settings.database_url, pooled=False)
    try:
        with Session(engine) as session:
            rows = session.exec(
                select(Draft, Message, Conversation)
                .join(Message, Message.id == Draft.message_id)  # type: ignore[arg-type]
                .join(Conversation, Conversation.id == Draft.conversation_id)  # type: ignore[arg-type]
                .where(
                    sa.or_(
                        Conversation.first_reply_at.is_not(None),  # type: ignore[union-attr]
                        Conversation.state.in_(APPROVED),  # type: ignore[attr-defined]
                    )
                )
                .order_by(Draft.id)  # type: ignore[arg-type]
            ).all()
            return [
                LabelledMessage(
                    id=f"staff-{message.id}",
                    subject=message.subject,
                    text=message.body,
                    sections=frozenset(draft.section_ids),
                    urgent=bool(draft.urgent or conversation.urgent),
                    page=message.source_page,
                )
                for draft, message, conversation in rows
            ]
    finally:
        engine.dispose()
