"""The worker's side of the database: claim due mails under a lease, record outcomes in batches,
release what was claimed but not sent.

Claiming (`inbox.queues.claim`) sets state 'sending' and a lease on due mails, expired leases
first (a dead worker's mails are taken over), in one transaction; a live worker renews the
leases of what it holds, and extends them to cover a send before it starts one (`renew`, see
outbox/holding.py).

Recording is a few executemany statements per batch. A result only changes a row the worker still
holds (lease_owner = me, state = sending), except "sent", which is always written: the server
took the mail, whoever else holds it now.
"""

from __future__ import annotations

import email.utils
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from inbox import queues
from inbox.db import UTCDateTime
from inbox.outbox import events
from inbox.outbox.backoff import next_try, retry_hint
from inbox.outbox.models import AttemptOutcome, DeliveryAttempt, MailState, OutboxMail
from inbox.outbox.sender import Reply

_mail = OutboxMail.__table__  # type: ignore[attr-defined]
_attempt = DeliveryAttempt.__table__  # type: ignore[attr-defined]
_RETURNED = (
    _mail.c.id,
    _mail.c.kind,
    _mail.c.conversation_id,
    _mail.c.recipient,
    _mail.c.raw,
    _mail.c.attempts,
    _mail.c.first_attempt_at,
    _mail.c.lease_expires_at,
)


@dataclass
class ClaimedMail:
    """A mail in a worker's hands: what it needs to send it and to record the outcome."""

    id: int
    kind: str
    conversation_id: int | None
    recipient: str
    raw: bytes | None
    attempts: int
    first_attempt_at: datetime | None
    lease_expires_at: datetime

    @property
    def envelope_recipient(self) -> str:
        """The addr-spec for RCPT TO. The value was parsed and checked at enqueue (an invalid one
        never gets bytes), so "Name <addr>" only needs its angle brackets found."""
        recipient = self.recipient.strip()
        if recipient.endswith(">") and "<" in recipient:
            return recipient[recipient.rindex("<") + 1 : -1].strip()
        if " " in recipient or "(" in recipient:  # "addr (comment)" and other rare forms
            return email.utils.parseaddr(recipient)[1]
        return recipient


@dataclass
class Result:
    mail: ClaimedMail
    reply: Reply
    at: datetime
    duration_ms: float


@dataclass(frozen=True)
class RetryPolicy:
    budget: timedelta
    base_seconds: float
    max_seconds: float


def claim(
    engine: Engine,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    take_over: bool = True,
    holding: Collection[int] = (),
) -> list[ClaimedMail]:
    """Take up to `limit` due mails (expired leases first, unless `take_over` is false), leased
    to `owner` until now+lease. `holding`: the ids still in the owner's hands, never re-taken
    (it gives them back itself); its own other expired rows (a claim whose answer it never got)
    are taken again."""
    expired = (
        (_mail.c.state == MailState.SENDING)
        & (_mail.c.lease_expires_at < now)
        & ((_mail.c.lease_owner != owner) | _mail.c.id.not_in(list(holding)))
    )
    due = (_mail.c.state == MailState.QUEUED) & (_mail.c.send_after <= now)
    waiting = [queues.Queue(due, (_mail.c.send_after, _mail.c.id))]
    if take_over:
        waiting.insert(0, queues.Queue(expired, (_mail.c.id,)))
    with engine.begin() as connection:
        rows = queues.claim(
            connection,
            _mail,
            key=_mail.c.id,
            queues=waiting,
            limit=limit,
            values={
                "state": MailState.SENDING,
                "lease_owner": owner,
                "lease_expires_at": now + lease,
            },
            returning=_RETURNED,
        )
    return [ClaimedMail(*row) for row in rows]  # type: ignore[call-arg]  # the _RETURNED columns


def renew(
    engine: Engine, *, owner: str, mail_ids: Collection[int], now: datetime, lease: timedelta
) -> set[int]:
    """Extend the owner's leases on `mail_ids` to now+lease (a lease already longer is left
    alone: it may cover a send in progress); returns the ids it still holds (a mail missing from
    the answer was taken over by another worker: it must not be sent)."""
    if not mail_ids:
        return set()
    until = sa.literal(now + lease, UTCDateTime())
    with engine.begin() as connection:
        rows = connection.execute(
            sa.update(_mail)
            .where(_mail.c.id.in_(list(mail_ids)))
            .where(_mail.c.lease_owner == owner)
            .where(_mail.c.state == MailState.SENDING)
            .values(
                lease_expires_at=sa.case(
                    (_mail.c.lease_expires_at > until, _mail.c.lease_expires_at), else_=until
                )
            )
            .returning(_mail.c.id)
        )
        return set(rows.scalars())


def release(engine: Engine, *, owner: str, mail_ids: Sequence[int]) -> None:
    """Give back mails claimed but not attempted (a graceful stop): due again at once."""
    if not mail_ids:
        return
    with engine.begin() as connection:
        connection.execute(
            sa.update(_mail)
            .where(_mail.c.id.in_(list(mail_ids)))
            .where(_mail.c.lease_owner == owner)
            .where(_mail.c.state == MailState.SENDING)
            .values(state=MailState.QUEUED, lease_owner=None, lease_expires_at=None)
        )


_when = sa.bindparam("b_at", type_=UTCDateTime())
# every outcome counts the attempt, starts the retry budget's clock once and ends the lease
_attempted = {
    "attempts": _mail.c.attempts + 1,
    "first_attempt_at": sa.func.coalesce(_mail.c.first_attempt_at, _when),
    "lease_owner": None,
    "lease_expires_at": None,
}
_held = (
    (_mail.c.id == sa.bindparam("b_id"))
    & (_mail.c.lease_owner == sa.bindparam("b_owner"))
    & (_mail.c.state == MailState.SENDING)
)
_mark_sent = (
    sa.update(_mail)
    .where(_mail.c.id == sa.bindparam("b_id"))
    .values(state=MailState.SENT, sent_at=_when, server_reply=sa.bindparam("b_reply"), **_attempted)
)
_mark_retry = (
    sa.update(_mail)
    .where(_held)
    .values(
        state=MailState.QUEUED,
        send_after=sa.bindparam("b_next", type_=UTCDateTime()),
        last_error=sa.bindparam("b_error"),
        **_attempted,
    )
)
_mark_failed = (
    sa.update(_mail)
    .where(_held)
    .values(
        state=MailState.FAILED, failed_at=_when, last_error=sa.bindparam("b_error"), **_attempted
    )
)


def _describe(reply: Reply) -> str:
    text = f"{reply.code} {reply.text}" if reply.code is not None else reply.text
    return text[:1000]


def record(
    engine: Engine,
    results: Sequence[Result],
    *,
    owner: str,
    policy: RetryPolicy,
    listeners: Sequence[events.DeliveryListener] = (),
) -> dict[str, int]:
    """Write a batch of outcomes (and one DeliveryAttempt each) in one transaction, telling the
    `listeners` of the final ones in it; returns how many ended sent, retry (scheduled again)
    and failed (4xx past the budget counts as failed)."""
    sent, retry, failed, attempts = [], [], [], []
    for result in results:
        mail, reply = result.mail, result.reply
        outcome = reply.outcome
        params = {"b_id": mail.id, "b_at": result.at, "b_owner": owner, "b_error": _describe(reply)}
        if outcome == AttemptOutcome.RETRY:
            first = mail.first_attempt_at or result.at
            next_at = next_try(
                result.at,
                attempts=mail.attempts + 1,
                first_attempt_at=first,
                budget=policy.budget,
                base=policy.base_seconds,
                cap=policy.max_seconds,
                hint=retry_hint(reply.text),
            )
            if next_at is None:
                outcome = AttemptOutcome.FAILED
                params["b_error"] = f"retry budget spent; last: {params['b_error']}"[:1000]
            else:
                retry.append({**params, "b_next": next_at})
        if outcome == AttemptOutcome.SENT:
            sent.append({"b_id": mail.id, "b_at": result.at, "b_reply": _describe(reply)})
        elif outcome == AttemptOutcome.FAILED:
            failed.append(params)
        attempts.append(
            {
                "mail_id": mail.id,
                "at": result.at,
                "worker": owner,
                "outcome": outcome,
                "code": reply.code,
                "text": reply.text[:1000],
                "duration_ms": round(result.duration_ms, 3),
            }
        )
    with Session(engine) as session:
        connection = session.connection()  # Core statements: no ORM bookkeeping per row
        for statement, rows in ((_mark_sent, sent), (_mark_retry, retry), (_mark_failed, failed)):
            if rows:
                connection.execute(statement, rows)
        if attempts:
            connection.execute(sa.insert(_attempt), attempts)
        finals = {row["b_id"]: AttemptOutcome.SENT for row in sent}
        finals.update({row["b_id"]: AttemptOutcome.FAILED for row in failed})
        events.after_deliveries(
            session,
            [
                events.Delivery(result.mail, finals[result.mail.id], result.at)
                for result in results
                if result.mail.id in finals
            ],
            listeners,
        )
        session.commit()
    return {"sent": len(sent), "retry": len(retry), "failed": len(failed)}
