"""What other domains call: enqueue a mail in their own transaction, re-queue, cancel, inspect.

Every function works inside the caller's Session and only flushes; the caller commits.

A mail that cannot be built (a header with a line break or an un-encodable character, a recipient
that is not an address, a line over 998 characters) does NOT raise: it is stored in state `failed`
with the reason in `last_error` and one DeliveryAttempt saying so, so the caller's work (the
submission, the approval) is kept and the failure is visible in `inbox queue` and to staff. Callers
that care look at `mail.state` on the returned row (delivery listeners hear only of mails a worker
tried to send).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from inbox import ratelimit
from inbox.config import Settings
from inbox.errors import Conflict, NotFound
from inbox.mails.render import RenderedMail
from inbox.outbox import dkim
from inbox.outbox.addresses import reply_address
from inbox.outbox.compose import MailNotBuildable, MailParts, build_message, new_message_id
from inbox.outbox.models import AttemptOutcome, DeliveryAttempt, MailKind, MailState, OutboxMail

# References keeps the first mail and the most recent ones when the thread gets long (RFC 5322
# §3.6.4 suggests trimming from the middle); the column holds 2,000 characters.
MAX_REFERENCES = 2000
ENQUEUE_WORKER = "enqueue"
AUTOMATIC_CAP_KEY = "automatic-mail"
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|sv|antw|r)\s*:\s*)+", re.IGNORECASE)


class MailNotFound(NotFound):
    pass


class MailStateConflict(Conflict):
    """The mail is not in a state that allows this (re-queue a sent mail, cancel a sent one…)."""


def _storable(value: str, limit: int | None = None) -> str:
    """Text that any database accepts: no lone surrogates, no NUL; cut to the column's size."""
    value = value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "")
    return value[:limit] if limit else value


@dataclass(frozen=True)
class Thread:
    """How the next mail of a conversation joins the earlier ones in the patient's mail client."""

    in_reply_to: str | None = None
    references: str | None = None
    subject: str | None = None  # "Re: " + the subject that set the thread (see `_thread`)


def thread_subject(first_subject: str) -> str:
    """The subject of every mail after the first: `Re: ` and the first one's, nothing added."""
    base = _REPLY_PREFIX.sub("", first_subject).strip()
    return f"Re: {base}" if base else first_subject


def _thread(session: Session, conversation_id: int) -> Thread:
    """In-Reply-To, References and subject for the next mail of a conversation: the earlier mails,
    oldest first (cancelled ones were never sent, so they are left out).

    The subject is set by the first mail that is not the acknowledgement: the receipt goes out
    before anyone has answered and keeps its own words, while the reply staff approve is sent with
    exactly the subject its draft showed, and every later mail follows it."""
    rows = session.exec(
        select(OutboxMail.message_id, OutboxMail.subject, OutboxMail.kind)
        .where(OutboxMail.conversation_id == conversation_id)
        .where(OutboxMail.state != MailState.CANCELLED)
        .order_by(col(OutboxMail.id))
    ).all()
    if not rows:
        return Thread()
    ids = [message_id for message_id, _, _ in rows]
    kept = list(ids)
    while len(kept) > 2 and len(" ".join(kept)) > MAX_REFERENCES:
        del kept[1]
    first = next((subject for _, subject, kind in rows if kind != MailKind.ACKNOWLEDGEMENT), None)
    return Thread(ids[-1], " ".join(kept), thread_subject(first) if first else None)


def sending_subject(session: Session, *, conversation_id: int, subject: str) -> str:
    """The subject the conversation's next mail goes out with: its thread's, once it has one."""
    return _thread(session, conversation_id).subject or subject


@dataclass(frozen=True)
class PreparedMail:
    """A mail built (and signed) before the transaction that enqueues it (`prepare_mail`)."""

    parts: MailParts
    raw: bytes | None
    error: str | None = None  # why it cannot be built (then it is stored failed)


def prepare_mail(
    session: Session,
    *,
    settings: Settings,
    recipient: str,
    mail: RenderedMail,
    conversation_id: int | None = None,
    automatic: bool = True,
    now: datetime,
    extra_headers: dict[str, str] | None = None,
) -> PreparedMail:
    """Build and sign a rendered mail ahead of its transaction, its thread read with `session`
    (one that only reads will do). On SQLite a write transaction holds the database's one write
    lock, so building there keeps every other writer waiting; `enqueue_mail(..., prepared=)`
    then stores these bytes unless the mail it would build differs (the thread moved on)."""
    given = MailParts(
        sender=settings.mail_from, recipient=recipient, subject=mail.subject, text=mail.text,
        html=mail.html, message_id=new_message_id(settings.mail_domain), date=now,
        automatic=automatic, extra_headers=extra_headers or {},
    )  # fmt: skip
    parts = _threaded(session, settings=settings, given=given, conversation_id=conversation_id)
    raw, error = _built(parts, settings)
    return PreparedMail(parts, raw, error)


def _threaded(
    session: Session, *, settings: Settings, given: MailParts, conversation_id: int | None
) -> MailParts:
    """The caller's mail joined to its conversation's thread as it is now (subject, In-Reply-To,
    References) and given the reply address."""
    thread = _thread(session, conversation_id) if conversation_id is not None else Thread()
    reply_to = settings.mail_reply_to
    if conversation_id is not None and settings.takes_replies:
        reply_to = reply_address(settings, conversation_id)
    return replace(
        given,
        subject=thread.subject or given.subject,
        reply_to=reply_to,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
    )


def _built(parts: MailParts, settings: Settings) -> tuple[bytes | None, str | None]:
    """The signed bytes, or why the mail cannot be built."""
    try:
        return dkim.sign(build_message(parts), settings), None
    except MailNotBuildable as exc:
        return None, _storable(f"cannot build the message: {exc}", 1000)


def enqueue_mail(
    session: Session,
    *,
    settings: Settings,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    conversation_id: int | None = None,
    automatic: bool = True,
    send_after: datetime,
    now: datetime,
    extra_headers: dict[str, str] | None = None,
    hourly_cap: int = 0,
    prepared: PreparedMail | None = None,
) -> OutboxMail:
    """Write a mail to the outbox with its Message-ID and final bytes (see the module docstring);
    the bytes of `prepared` (`prepare_mail` with the same arguments) when it is still the mail
    these arguments make.

    With `hourly_cap`, the mail counts against one shared counter of automatic patient mail per
    clock hour (atomic across processes); past the cap it is stored `held`, listed for staff
    beside the failed mails, and waits for one of them to release or cancel it."""
    given = MailParts(
        sender=settings.mail_from, recipient=recipient, subject=subject, text=text, html=html,
        message_id=prepared.parts.message_id if prepared else new_message_id(settings.mail_domain),
        date=prepared.parts.date if prepared else now, automatic=automatic,
        extra_headers=extra_headers or {},
    )  # fmt: skip
    parts = _threaded(session, settings=settings, given=given, conversation_id=conversation_id)
    if prepared is not None and prepared.parts == parts:
        raw, error = prepared.raw, prepared.error
    else:
        raw, error = _built(parts, settings)
    mail = OutboxMail(
        kind=kind,
        conversation_id=conversation_id,
        recipient=_storable(recipient, 320),
        subject=_storable(parts.subject, 500),
        text_body=_storable(text),
        html_body=_storable(html),
        message_id=parts.message_id,
        in_reply_to=parts.in_reply_to,
        references=parts.references,
        automatic=automatic,
        send_after=send_after,
        created_at=now,
        raw=raw,
    )
    if error is not None:
        mail.state, mail.failed_at, mail.last_error = MailState.FAILED, now, error
    if mail.state == MailState.QUEUED and over_hourly_cap(session, cap=hourly_cap, now=now):
        mail.state, mail.failed_at = MailState.HELD, now
        mail.last_error = f"Held: over the cap of {hourly_cap} automatic mails an hour."
    session.add(mail)
    session.flush()
    if mail.state == MailState.FAILED:
        assert mail.id is not None  # flushed
        session.add(
            DeliveryAttempt(
                mail_id=mail.id,
                at=now,
                worker=ENQUEUE_WORKER,
                outcome=AttemptOutcome.FAILED,
                text=mail.last_error,
            )
        )
        session.flush()
    return mail


def over_hourly_cap(session: Session, *, cap: int, now: datetime) -> bool:
    """Count one automatic mail this clock hour; True when that makes more than `cap` (0: no
    cap)."""
    if cap <= 0:
        return False
    rule = ratelimit.Rule(limit=cap, period=3600)
    return ratelimit.hit(session, key=AUTOMATIC_CAP_KEY, rule=rule, now=now) is not None


def get_mail(session: Session, *, mail_id: int) -> OutboxMail | None:
    """One outbox mail by id."""
    return session.get(OutboxMail, mail_id)


def _mail_or_raise(session: Session, mail_id: int) -> OutboxMail:
    mail = session.get(OutboxMail, mail_id, with_for_update=True)
    if mail is None:
        raise MailNotFound(f"There is no mail {mail_id}.")
    return mail


def requeue_mail(session: Session, *, mail_id: int, now: datetime) -> OutboxMail:
    """Put a failed or held mail back in the queue, due now, with a fresh retry budget."""
    mail = _mail_or_raise(session, mail_id)
    if mail.state not in (MailState.FAILED, MailState.HELD):
        raise MailStateConflict(
            f"Mail {mail_id} is {mail.state}; only a failed or held mail can be sent again."
        )
    if mail.raw is None:
        raise MailStateConflict(f"Mail {mail_id} could not be built ({mail.last_error}).")
    mail.state, mail.send_after, mail.attempts, mail.first_attempt_at = (
        MailState.QUEUED,
        now,
        0,
        None,
    )
    mail.failed_at = mail.lease_owner = mail.lease_expires_at = None
    session.add(mail)
    session.flush()
    return mail


def cancel_mail(
    session: Session, *, mail_id: int, now: datetime, reason: str = "cancelled"
) -> OutboxMail:
    """Withdraw a mail that is queued, held or failed; one being sent or already sent cannot be."""
    mail = _mail_or_raise(session, mail_id)
    if mail.state not in (MailState.QUEUED, MailState.HELD, MailState.FAILED):
        raise MailStateConflict(f"Mail {mail_id} is {mail.state} and can no longer be cancelled.")
    mail.state, mail.last_error = MailState.CANCELLED, _storable(reason, 1000)
    mail.failed_at = mail.failed_at or now
    session.add(mail)
    session.flush()
    return mail


def mails_for_conversation(session: Session, conversation_id: int) -> list[OutboxMail]:
    """Every mail of one conversation, oldest first."""
    return list(
        session.exec(
            select(OutboxMail)
            .where(OutboxMail.conversation_id == conversation_id)
            .order_by(col(OutboxMail.id))
        ).all()
    )


def attempts_for_mail(session: Session, mail_id: int) -> list[DeliveryAttempt]:
    """Every delivery attempt of one mail, oldest first."""
    return list(
        session.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.mail_id == mail_id)
            .order_by(col(DeliveryAttempt.id))
        ).all()
    )


def queue_stats(session: Session, now: datetime, *, failures: int = 10) -> dict[str, Any]:
    """Counts by state, the oldest due mail and its age, and the most recent failures."""
    counts = {state: 0 for state in MailState.ALL}
    rows = session.exec(
        select(OutboxMail.state, sa.func.count()).group_by(OutboxMail.state)  # type: ignore[call-overload]
    ).all()
    counts.update({state: count for state, count in rows})
    oldest_due = session.exec(
        select(sa.func.min(OutboxMail.send_after))
        .where(OutboxMail.state == MailState.QUEUED)
        .where(OutboxMail.send_after <= now)
    ).one()
    recent = session.exec(
        select(OutboxMail)
        .where(OutboxMail.state == MailState.FAILED)
        .order_by(col(OutboxMail.failed_at).desc(), col(OutboxMail.id).desc())
        .limit(failures)
    ).all()
    return {
        "counts": counts,
        "oldest_due_at": oldest_due,
        "oldest_due_age_seconds": (now - oldest_due).total_seconds() if oldest_due else 0.0,
        "recent_failures": [
            {
                "id": mail.id,
                "kind": mail.kind,
                "recipient": mail.recipient,
                "failed_at": mail.failed_at,
                "attempts": mail.attempts,
                "error": mail.last_error,
            }
            for mail in recent
        ],
    }
