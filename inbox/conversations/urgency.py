"""The one place that sets how urgent a conversation is.

`urgency` says which tier (routine, possible, urgent) and `urgent` keeps the conversation at the
top of the inbox: both move together here, whether triage or a staff member decides.
"""

from __future__ import annotations

from inbox.conversations.models import Conversation, Message, Urgency


def tier(*, urgent: bool, possible: bool, needs_reader: bool) -> Urgency:
    """The tier of one triage: sure emergency signs are urgent; uncertain ones, or a message the
    engine cannot read, are a possible emergency; anything else is routine."""
    if urgent and not possible:
        return Urgency.URGENT
    if urgent or possible or needs_reader:
        return Urgency.POSSIBLE
    return Urgency.ROUTINE


def record_triage(
    conversation: Conversation,
    message: Message,
    *,
    urgent: bool,
    urgency: Urgency,
    language: str,
    needs_reader: bool,
    keep_at_least: Urgency = Urgency.ROUTINE,
) -> None:
    """Store what triage found in the message (`urgent`: emergency signs, sure or possible;
    `urgency`: its tier, which a message nobody here can read also raises), and the
    conversation's tier: the message's, but never below `keep_at_least` (an unanswered urgent
    question stays urgent)."""
    message.urgent = urgent
    message.urgency = urgency
    message.language = language
    message.needs_reader = needs_reader
    conversation.language = language
    conversation.needs_reader = needs_reader
    set_urgency(conversation, max(urgency, keep_at_least, key=lambda level: level.rank))


def set_urgency(conversation: Conversation, urgency: Urgency) -> None:
    """Put the conversation in this tier; any tier but routine keeps it at the top."""
    conversation.urgency = urgency
    conversation.urgent = urgency is not Urgency.ROUTINE


def urgency_of(conversation: Conversation) -> Urgency:
    """The conversation's tier; one that was put at the top before triage ran counts as possible."""
    level = Urgency(conversation.urgency)
    if conversation.urgent and level is Urgency.ROUTINE:
        return Urgency.POSSIBLE
    return level
