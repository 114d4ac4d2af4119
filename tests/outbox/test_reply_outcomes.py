"""Replies delivered in one batch each move their own conversation to sent."""

from __future__ import annotations

from sqlmodel import Session

from inbox.conversations.models import Conversation, ConversationState
from inbox.db import session_scope
from tests.outbox.conftest import enqueue, make_conversation


async def test_two_replies_sent_together_both_mark_their_conversations_sent(
    outbox_runtime, worker, smtp_server
):
    now = outbox_runtime.clock.now()
    with session_scope(outbox_runtime.engine) as session:
        ids = []
        for email in ("ann@example.org", "bob@example.org"):
            conversation = make_conversation(session, now=now, email=email)
            enqueue(session, outbox_runtime, recipient=email, conversation_id=conversation.id)
            ids.append(conversation.id)

    assert await worker.drain() == 2

    with Session(outbox_runtime.engine) as session:
        states = [session.get(Conversation, cid).state for cid in ids]
    assert states == [ConversationState.SENT, ConversationState.SENT]
    assert len(smtp_server.received) == 2
