"""Follow-ups and suppression: schedule, cancel, move, list; who must get no automatic mail.

Keyword-only functions that flush and never commit; the caller owns the transaction. Staff
actions write one audit entry each (no health data in it).
"""

from __future__ import annotations

import contextlib
import email.utils
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from inbox.conversations.models import Conversation
from inbox.db import UTCDateTime
from inbox.errors import Conflict, InvalidInput, NotFound
from inbox.followups.models import (
    FollowUp,
    FollowUpState,
    Suppression,
    SuppressionReason,
)
from inbox.outbox.models import MailKind, MailState, OutboxMail
from inbox.outbox.service import MailStateConflict, cancel_mail, requeue_mail
from inbox.staff.audit import record

if TYPE_CHECKING:
    from inbox.staff.models import StaffUser

MOVE_HORIZON = timedelta(days=366)  # how far ahead staff may move a follow-up


PATIENT_WROTE_AGAIN = "patient wrote again"
SUPPRESSED = "the address gets no automatic mail"
SUPPRESSIBLE_KINDS = (MailKind.ACKNOWLEDGEMENT, MailKind.FOLLOW_UP)  # replies always go


class FollowUpNotFound(NotFound):
    pass


class FollowUpStateConflict(Conflict):
    """The follow-up was sent or cancelled meanwhile (or a worker is sending it right now)."""


def normalise_address(address: str) -> str:
    """'Pat <Pat@Example.org>' -> 'pat@example.org' (the form addresses are stored in)."""
    return (email.utils.parseaddr(address)[1] or address).strip().lower()


# --- suppression


def is_suppressed(session: Session, email: str) -> bool:
    """Whether automatic mail (acknowledgement, follow-up) to this address is off."""
    return session.get(Suppression, normalise_address(email)) is not None


def get_suppression(session: Session, email: str) -> Suppression | None:
    """The suppression entry of an address (why and since when), if any."""
    return session.get(Suppression, normalise_address(email))


def suppress(session: Session, *, email: str, reason: str, now: datetime) -> Suppression:
    """Add the address to the suppression list (idempotent, also when two requests race); its
    pending follow-ups and its automatic mails still waiting in the outbox are cancelled.

    An explicit unsubscribe replaces a bounce entry (it outlives a bounce being lifted)."""
    address = normalise_address(email)
    session.flush()
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    session.execute(
        insert(Suppression.__table__)  # type: ignore[attr-defined]
        .values(email=address, reason=reason, created_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
    )
    entry = session.get(Suppression, address, with_for_update=True, populate_existing=True)
    assert entry is not None
    if reason == SuppressionReason.UNSUBSCRIBED and entry.reason != reason:
        entry.reason, entry.created_at = reason, now
    unsubscribed = entry.reason == SuppressionReason.UNSUBSCRIBED
    why = "unsubscribed" if unsubscribed else "an earlier mail to the address failed"
    cancel_follow_ups_for_address(session, email=address, reason=why, now=now)
    _cancel_queued_automatic_mail(session, email=address, reason=why, now=now)
    session.flush()
    return entry


def _cancel_queued_automatic_mail(
    session: Session, *, email: str, reason: str, now: datetime
) -> None:
    """Withdraw acknowledgements and follow-ups to the address that are queued or held."""
    waiting = session.exec(
        select(OutboxMail.id)
        .where(col(OutboxMail.kind).in_(SUPPRESSIBLE_KINDS))
        .where(OutboxMail.recipient == email)
        .where(col(OutboxMail.state).in_((MailState.QUEUED, MailState.HELD)))
    ).all()
    for mail_id in filter(None, waiting):
        with contextlib.suppress(MailStateConflict):  # a worker is sending it right now
            cancel_mail(session, mail_id=mail_id, now=now, reason=reason)


def requeue_unless_suppressed(session: Session, *, mail_id: int, now: datetime) -> OutboxMail:
    """Send a failed or held mail again, unless it is an acknowledgement or follow-up to an
    address that asked for no automatic mail (or bounced) since: that one is cancelled instead,
    and the returned mail says so (`state` cancelled)."""
    mail = requeue_mail(session, mail_id=mail_id, now=now)
    if mail.kind in SUPPRESSIBLE_KINDS and is_suppressed(session, mail.recipient):
        mail = cancel_mail(session, mail_id=mail_id, now=now, reason=SUPPRESSED)
    return mail


def lift_bounce(session: Session, *, email: str) -> bool:
    """A mail to the address was delivered after all: drop a bounce entry (never an unsubscribe)."""
    result = session.execute(
        sa.delete(Suppression)
        .where(col(Suppression.email) == normalise_address(email))
        .where(col(Suppression.reason) == SuppressionReason.BOUNCED)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- scheduling and cancelling


_PENDING_SQL = ", ".join(f"'{state}'" for state in FollowUpState.PENDING)
CANCEL_FOR_CONVERSATION = f"""
UPDATE follow_up SET state = '{FollowUpState.CANCELLED}', cancel_reason = :reason,
  updated_at = :now, lease_owner = NULL, lease_expires_at = NULL
WHERE conversation_id = :conversation_id AND state IN ({_PENDING_SQL})"""
"""Cancel a conversation's pending follow-ups, scheduled and claimed alike (a claimed one is only
marked sent by its worker while still claimed). The one statement for it: `cancel_follow_ups`
runs it in a Session, the intake hot path on its own connection (`cancel_when_patient_writes`).
Every caller holds the conversation's row lock, so two cancellations of it take turns."""
_cancel_for_conversation = sa.text(CANCEL_FOR_CONVERSATION).bindparams(
    sa.bindparam("now", type_=UTCDateTime())
)


def cancel_follow_ups(
    session: Session, *, conversation_id: int, reason: str, now: datetime
) -> None:
    """Cancel the conversation's pending follow-ups (closed, the patient wrote again)."""
    cancel_for_conversations(session, conversation_ids=[conversation_id], reason=reason, now=now)


def cancel_for_conversations(
    session: Session, *, conversation_ids: Sequence[int], reason: str, now: datetime
) -> None:
    """Cancel the pending follow-ups of several conversations at once (a batch of sent replies)."""
    if not conversation_ids:
        return
    session.flush()
    session.execute(
        _cancel_for_conversation,
        [{"conversation_id": id_, "reason": reason[:100], "now": now} for id_ in conversation_ids],
    )
    wanted = set(conversation_ids)
    for item in list(session.identity_map.values()):
        if isinstance(item, FollowUp) and item.conversation_id in wanted:
            session.expire(item)


def cancel_when_patient_writes(
    connection: Any, run: Callable[..., object], *, conversation_id: int, now: datetime
) -> None:
    """The intake hot path's call: the patient wrote again, so no "are you better?" mail."""
    run(
        connection, CANCEL_FOR_CONVERSATION, conversation_id=conversation_id,
        reason=PATIENT_WROTE_AGAIN, now=now,
    )  # fmt: skip


def cancel_follow_ups_for_address(
    session: Session, *, email: str, reason: str, now: datetime
) -> int:
    """Cancel every pending follow-up to an address (unsubscribed, bounced); returns how many."""
    return _cancel(session, col(FollowUp.recipient) == normalise_address(email), reason, now)


def _cancel(session: Session, condition: sa.ColumnElement[bool], reason: str, now: datetime) -> int:
    # A claimed follow-up is cancelled too: the worker only marks it sent if it is still claimed.
    # Rows are locked in id order first: an address's follow-ups span conversations whose locks
    # are not held, so two cancellations that overlap wait for each other instead of deadlocking.
    ids = session.exec(
        select(FollowUp.id)
        .where(condition)
        .where(col(FollowUp.state).in_(FollowUpState.PENDING))
        .order_by(col(FollowUp.id))
        .with_for_update()
    ).all()
    if not ids:
        return 0
    result = session.execute(
        sa.update(FollowUp)
        .where(col(FollowUp.id).in_(ids))
        .where(col(FollowUp.state).in_(FollowUpState.PENDING))
        .values(
            state=FollowUpState.CANCELLED,
            cancel_reason=reason[:100],
            updated_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- reading


def follow_ups_for_conversation(session: Session, conversation_id: int) -> list[FollowUp]:
    """Every follow-up of one conversation (pending, sent, cancelled), soonest first."""
    return list(
        session.exec(
            select(FollowUp)
            .where(FollowUp.conversation_id == conversation_id)
            .order_by(col(FollowUp.due_at), col(FollowUp.id))
        )
    )


def upcoming_follow_ups(session: Session, *, limit: int = 200) -> list[FollowUp]:
    """Pending follow-ups of every conversation, soonest first."""
    return list(
        session.exec(
            select(FollowUp)
            .where(col(FollowUp.state).in_(FollowUpState.PENDING))
            .order_by(col(FollowUp.due_at), col(FollowUp.id))
            .limit(limit)
        )
    )


def get_follow_up(session: Session, follow_up_id: int) -> FollowUp | None:
    """One follow-up by id."""
    return session.get(FollowUp, follow_up_id)


# --- staff actions (audited)


def pending_follow_up(session: Session, *, follow_up_id: int) -> FollowUp:
    """The follow-up, locked (its conversation first, as every writer does), if still scheduled."""
    found = session.get(FollowUp, follow_up_id)
    if found is None:
        raise FollowUpNotFound(f"There is no follow-up {follow_up_id}.")
    session.get(Conversation, found.conversation_id, with_for_update=True)
    follow_up = session.get(FollowUp, follow_up_id, with_for_update=True, populate_existing=True)
    assert follow_up is not None
    if follow_up.state == FollowUpState.CLAIMED:
        raise FollowUpStateConflict("This follow-up is being sent right now.")
    if follow_up.state != FollowUpState.SCHEDULED:
        raise FollowUpStateConflict(f"This follow-up was already {follow_up.state}.")
    return follow_up


def cancel_follow_up(
    session: Session, *, follow_up_id: int, staff: StaffUser, now: datetime
) -> FollowUp:
    """Staff cancel one scheduled follow-up."""
    follow_up = pending_follow_up(session, follow_up_id=follow_up_id)
    follow_up.state, follow_up.cancel_reason = (
        FollowUpState.CANCELLED,
        f"cancelled by {staff.email}"[:100],
    )
    follow_up.updated_at = now
    audit(session, staff=staff, action="follow-up cancel", follow_up=follow_up, now=now)
    session.flush()
    return follow_up


def move_follow_up(
    session: Session, *, follow_up_id: int, due_at: datetime, staff: StaffUser, now: datetime
) -> FollowUp:
    """Staff move one scheduled follow-up to another time (taken as given: no quiet-hours shift)."""
    if due_at.tzinfo is None:
        raise InvalidInput({"due_at": "Please give the date with its time zone."})
    if due_at < now:
        raise InvalidInput({"due_at": "Please choose a time in the future (or use Send now)."})
    if due_at > now + MOVE_HORIZON:
        raise InvalidInput({"due_at": "Please choose a time within the next year."})
    follow_up = pending_follow_up(session, follow_up_id=follow_up_id)
    before = follow_up.due_at
    follow_up.due_at, follow_up.updated_at = due_at, now
    audit(
        session, staff=staff, action="follow-up move", follow_up=follow_up, now=now,
        detail=f"from {before.isoformat()} to {due_at.isoformat()}",
    )  # fmt: skip
    session.flush()
    return follow_up


def audit(
    session: Session, *, staff: StaffUser, action: str, follow_up: FollowUp, now: datetime,
    detail: str | None = None,
) -> None:  # fmt: skip
    """One audit entry on the follow-up's conversation (so the conversation history shows it)."""
    text = f"follow-up {follow_up.id}" + (f": {detail}" if detail else "")
    record(
        session, actor=staff, action=action, target_type="conversation",
        target_id=follow_up.conversation_id, detail=text, now=now,
    )  # fmt: skip
