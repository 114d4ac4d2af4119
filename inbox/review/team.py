"""Working as a team on conversations: who owns one, what kind it is, its tags, and the
actions staff take on many conversations at once (close, mark spam, assign).

Keyword-only functions that flush and never commit; each change writes one audit entry per
conversation. The owner and the kind change only through `inbox.conversations.lifecycle`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox.conversations import lifecycle
from inbox.conversations.models import (
    CallOutcome,
    Conversation,
    ConversationKind,
    ConversationTag,
)
from inbox.drafting.edits import audit_conversation as _audit
from inbox.drafting.edits import rebuild_for_kind
from inbox.errors import InvalidInput, NotFound
from inbox.review import actions, calls
from inbox.runtime import Runtime
from inbox.staff.models import StaffUser

MAX_TAGS = 10
MAX_BULK = 100  # conversations per bulk action: one page of the list is 25
_TAG = re.compile(r"[^\w\- ]+", re.UNICODE)


class StaffNotFound(NotFound):
    pass


def colleagues(session: Session) -> list[StaffUser]:
    """The active staff accounts a conversation can be assigned to, by e-mail address."""
    return list(
        session.exec(select(StaffUser).where(col(StaffUser.active)).order_by(col(StaffUser.email)))
    )


def _assignee(session: Session, assignee_id: int | None) -> StaffUser | None:
    if assignee_id is None:
        return None
    found = session.get(StaffUser, assignee_id)
    if found is None or not found.active:
        raise StaffNotFound("There is no active staff member to assign it to.")
    return found


def assign(
    session: Session,
    *,
    conversation_id: int,
    assignee_id: int | None,
    staff: StaffUser,
    now: datetime,
    detail: str | None = None,
) -> None:
    """Give the conversation to `assignee_id` (None: unassigned); audited when it changes."""
    assignee = _assignee(session, assignee_id)
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    _assign(session, conversation, assignee, staff=staff, now=now, detail=detail)


def _assign(
    session: Session,
    conversation: Conversation,
    assignee: StaffUser | None,
    *,
    staff: StaffUser,
    now: datetime,
    detail: str | None = None,
) -> None:
    if not lifecycle.assign(conversation, assignee_id=assignee.id if assignee else None, now=now):
        return
    to = assignee.email if assignee else "nobody"
    _audit(
        session, staff=staff, action="assign", conversation_id=conversation.id or 0, now=now,
        detail=f"to {to}" + (f", {detail}" if detail else ""),
    )  # fmt: skip


def set_kind(
    session: Session,
    *,
    runtime: Runtime,
    conversation_id: int,
    kind: str,
    staff: StaffUser,
    now: datetime,
) -> None:
    """Staff's choice of what the conversation is about (triage will not change it again)."""
    try:
        chosen = ConversationKind(kind)
    except ValueError as exc:
        raise InvalidInput({"kind": "Please choose one of the kinds listed."}) from exc
    conversation = lifecycle.locked(session, conversation_id=conversation_id)
    before = conversation.kind
    lifecycle.set_kind(conversation, chosen, by_staff=True, now=now)
    rebuild_for_kind(session, runtime=runtime, conversation=conversation, now=now)
    _audit(
        session, staff=staff, action="kind", conversation_id=conversation_id, now=now,
        detail=f"{before} -> {chosen.value}",
    )  # fmt: skip


def clean_tags(text: str) -> list[str]:
    """Tags from what staff typed: comma-separated, lower-case, letters, digits, - and spaces."""
    tags: list[str] = []
    for chunk in text.split(","):
        tag = " ".join(_TAG.sub(" ", chunk).split()).lower()[:40]
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput({"tags": f"Please use at most {MAX_TAGS} tags."})
    return tags


def tags_of(session: Session, conversation_ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of each conversation, sorted."""
    if not conversation_ids:
        return {}
    table = ConversationTag.__table__  # type: ignore[attr-defined]
    found: dict[int, list[str]] = {}
    for conversation_id, tag in session.execute(
        sa.select(table.c.conversation_id, table.c.tag)
        .where(table.c.conversation_id.in_(list(conversation_ids)))
        .order_by(table.c.tag)
    ):
        found.setdefault(conversation_id, []).append(tag)
    return found


def set_tags(
    session: Session, *, conversation_id: int, tags: str, staff: StaffUser, now: datetime
) -> None:
    """Replace the conversation's tags with those in `tags` (comma-separated)."""
    wanted = clean_tags(tags)
    lifecycle.locked(session, conversation_id=conversation_id)
    table = ConversationTag.__table__  # type: ignore[attr-defined]
    before = tags_of(session, [conversation_id]).get(conversation_id, [])
    if before == sorted(wanted):
        return
    session.execute(sa.delete(table).where(table.c.conversation_id == conversation_id))
    if wanted:
        session.execute(
            sa.insert(table), [{"conversation_id": conversation_id, "tag": t} for t in wanted]
        )
    _audit(
        session, staff=staff, action="tags", conversation_id=conversation_id, now=now,
        detail=", ".join(sorted(wanted)) or "none",
    )  # fmt: skip


# --- many conversations at once


class BulkAction(StrEnum):
    CLOSE = "close"
    SPAM = "spam"
    ASSIGN = "assign"

    @property
    def verb(self) -> str:
        return {"close": "Close", "spam": "Mark as spam", "assign": "Assign"}[self.value]


_CHANGE = {BulkAction.CLOSE: "close", BulkAction.SPAM: "discard"}


@dataclass(frozen=True)
class BulkOutcome:
    done: list[int]
    skipped: list[int]  # not in a state the action starts from (someone else got there first)


def parse_bulk(action: str, ids: Sequence[str]) -> tuple[BulkAction, list[int]]:
    """The action and the conversation ids of a bulk form; InvalidInput when unusable."""
    try:
        chosen = BulkAction(action)
    except ValueError as exc:
        raise InvalidInput({"action": "Please choose what to do with them."}) from exc
    picked: list[int] = []
    for raw in ids:
        if not raw.isdigit() or len(raw) > 18:
            raise InvalidInput({"ids": "Those conversations are not in the list."})
        if int(raw) not in picked:
            picked.append(int(raw))
    if not picked:
        raise InvalidInput({"ids": "Please tick the conversations first."})
    if len(picked) > MAX_BULK:
        raise InvalidInput({"ids": f"Please choose at most {MAX_BULK} conversations at once."})
    return chosen, picked


def bulk_apply(
    session: Session,
    *,
    action: BulkAction,
    conversation_ids: Sequence[int],
    assignee_id: int | None,
    staff: StaffUser,
    now: datetime,
) -> BulkOutcome:
    """Close, mark as spam or assign each conversation, audited one by one ("bulk" in the
    detail); one not in a state the action starts from is skipped, not an error."""
    assignee = _assignee(session, assignee_id) if action is BulkAction.ASSIGN else None
    done: list[int] = []
    skipped: list[int] = []
    for conversation_id in sorted(conversation_ids):  # one lock order for every request
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None:
            skipped.append(conversation_id)
            continue
        if action is BulkAction.ASSIGN:
            _assign(session, conversation, assignee, staff=staff, now=now, detail="bulk")
        elif not lifecycle.allows(conversation, _CHANGE[action]):
            skipped.append(conversation_id)
            continue
        elif action is BulkAction.CLOSE:
            actions.close_conversation(
                session, conversation_id=conversation_id, staff=staff, now=now
            )
        else:
            actions.discard_as_spam(session, conversation_id=conversation_id, staff=staff, now=now)
        done.append(conversation_id)
    session.flush()
    return BulkOutcome(done=done, skipped=skipped)


def subjects(session: Session, conversation_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, subject, state) of the chosen conversations, for the confirmation page."""
    if not conversation_ids:
        return []
    return [
        (row.id or 0, row.subject, row.state)
        for row in session.exec(
            select(Conversation)
            .where(col(Conversation.id).in_(list(conversation_ids)))
            .order_by(col(Conversation.id))
        )
    ]


def conversation_context(
    session: Session, *, view: actions.ConversationView, staff: StaffUser
) -> dict[str, Any]:
    """What the conversation page shows of the team's work on it: owner, kind, tags, the
    patient's phone number and the call log."""
    conversation = view.conversation
    conversation_id = conversation.id or 0
    active = colleagues(session)
    # an active owner is among the colleagues just read: `get` finds it without a query
    owner = session.get(StaffUser, conversation.assignee_id) if conversation.assignee_id else None
    return {
        "owner": owner,
        "owner_is_me": owner is not None and owner.id == staff.id,
        "colleagues": active,
        "kinds": [(kind.value, kind.label) for kind in ConversationKind],
        "kind_label": ConversationKind(conversation.kind).label,
        "tags": tags_of(session, [conversation_id]).get(conversation_id, []),
        "phone": view.phone,
        "calls": calls.calls_of(session, conversation_id=conversation_id),
        "call_outcomes": [(outcome.value, outcome.label) for outcome in CallOutcome],
    }
