"""Store a submission: rate limits, spam marking, duplicate folding, contact and conversation.

This is the hot path of the public form: it runs prepared plain SQL (inbox.intake.sql) on one
connection in the caller's transaction, and builds no ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from inbox import ratelimit
from inbox.config import Settings
from inbox.conversations import lifecycle
from inbox.conversations.models import MessageStatus
from inbox.errors import RateLimited
from inbox.followups.service import cancel_when_patient_writes
from inbox.intake import sql
from inbox.intake.spam import TOO_FAST, client_ip_key, fingerprint, spam_reason
from inbox.intake.validation import Submission


@dataclass(frozen=True)
class Client:
    ip: str | None
    user_agent: str | None
    channel: str  # form | api | demo
    peer: str | None = None  # the connecting address when it is a trusted proxy, else None


@dataclass(frozen=True)
class Receipt:
    message_id: int
    conversation_id: int
    status: str  # accepted | spam | duplicate
    urgent: bool
    duplicate_of: int | None = None


def check_rate_limits(
    connection: Connection | Any,
    statements: sql.Statements,
    *,
    settings: Settings,
    email: str,
    ip_key: str | None,
    now: datetime,
    peer_key: str | None = None,
) -> None:
    """Raise RateLimited (429 with Retry-After) when the client, the proxy it came through or
    the address sent too much."""
    hits = [(f"addr:{email}", ratelimit.Rule.parse(settings.rate_limit_address))]
    if ip_key:
        hits.insert(0, (f"ip:{ip_key}", ratelimit.Rule.parse(settings.rate_limit_ip)))
    if peer_key:
        hits.insert(0, (f"peer:{peer_key}", ratelimit.Rule.parse(settings.rate_limit_proxy)))
    wait = ratelimit.count_hits(connection, statements, hits, now=now)
    if wait is not None:
        raise RateLimited(
            "You have sent several messages in a short time. "
            f"Please wait {wait} seconds and send it again.",
            retry_after=wait,
        )


def _wide_key(settings: Settings, client: Client) -> str | None:
    """What the proxy cap counts: the trusted proxy a client came through, or the /48 of a
    direct IPv6 client; None for a direct IPv4 client (its own limit is the cap)."""
    wide = ratelimit.client_network(client.peer) if client.peer else None
    wide = wide or ratelimit.wide_network(client.ip)
    return client_ip_key(settings.secret_key, wide) if wide else None


def receive_submission(
    connection: Connection | Any,
    *,
    submission: Submission,
    client: Client,
    settings: Settings,
    now: datetime,
    urgent: bool = False,
    statements: sql.Statements | None = None,
) -> Receipt:
    """Rate-limit, classify and store one submission; never drops a legitimate one.

    `connection` is a SQLAlchemy Connection, or a driver connection with `statements` given."""
    statements = statements or sql.Statements(connection.dialect.name)
    run = statements.run
    ip_key = (
        client_ip_key(settings.secret_key, client.ip)
        if settings.store_client_ip == "hash"
        else client.ip
    )
    check_rate_limits(
        connection,
        statements,
        settings=settings,
        email=submission.email,
        ip_key=client_ip_key(settings.secret_key, ratelimit.client_network(client.ip)),
        peer_key=_wide_key(settings, client),
        now=now,
    )
    reason = spam_reason(
        submission,
        secret_key=settings.secret_key,
        min_fill_seconds=settings.min_fill_seconds,
        now=now,
        token_required=client.channel in ("form", "api"),
    )
    # the time trap alone never bins a possible emergency (a pasted message, a quick resend):
    # it is stored for review, its reason kept so that staff see it was sent very fast
    sent_very_fast = reason == TOO_FAST and urgent
    if sent_very_fast:
        reason = None
    row: dict[str, Any] = {
        "name": submission.name,
        "email": submission.email,
        "subject": submission.subject,
        "body": submission.message,
        "source_page": submission.page,
        "phone": submission.phone,
        "channel": client.channel,
        "client_ip": ip_key,
        "user_agent": (client.user_agent or "")[:500] or None,
        "received_at": now,
        "fingerprint": fingerprint(submission.email, submission.message),
        "urgent": urgent and reason is None,
        "spam_reason": TOO_FAST if sent_very_fast else reason,
        "duplicate_of_id": None,
        "drafted_at": None,
    }
    if reason is None:
        if not statements.sqlite:
            run(
                connection,
                sql.LOCK_FINGERPRINT,
                space=sql.FINGERPRINT_LOCK_SPACE,
                key=int(row["fingerprint"][:8], 16) - 2**31,  # a signed int4
            )
        since = now - timedelta(minutes=settings.duplicate_window_minutes)
        original = run(
            connection,
            sql.RECENT_ORIGINAL,
            fingerprint=row["fingerprint"],
            since=since,
            accepted=MessageStatus.ACCEPTED.value,
        ).first()
        if original is not None:
            return _fold_duplicate(connection, run, row=row, original=original)

    contact_id = run(
        connection, sql.UPSERT_CONTACT, email=submission.email, name=submission.name, now=now
    ).scalar_one()
    if reason is not None:
        conversation_id = lifecycle.open_as_spam(
            connection, run, contact_id=contact_id, subject=submission.subject, now=now
        )
    else:
        conversation_id, joined = lifecycle.join_or_open(
            connection, run, contact_id=contact_id, subject=submission.subject, now=now,
            urgent=urgent,
        )  # fmt: skip
        if joined:  # they write again: no "are you better?" mail
            cancel_when_patient_writes(connection, run, conversation_id=conversation_id, now=now)
    row.update(
        contact_id=contact_id,
        conversation_id=conversation_id,
        status=MessageStatus.SPAM if reason else MessageStatus.ACCEPTED,
        drafted_at=now if reason else None,  # spam is never drafted
    )
    message_id = run(connection, sql.INSERT_MESSAGE, **row).scalar_one()
    return Receipt(
        message_id=message_id,
        conversation_id=conversation_id,
        status=row["status"],
        urgent=row["urgent"],
    )


def _fold_duplicate(connection: Connection, run, *, row: dict, original) -> Receipt:
    row.update(
        contact_id=original[2],
        conversation_id=original[1],
        status=MessageStatus.DUPLICATE,
        duplicate_of_id=original[0],
        drafted_at=row["received_at"],
    )
    message_id = run(connection, sql.INSERT_MESSAGE, **row).scalar_one()
    run(connection, sql.COUNT_DUPLICATE, id=original[0])
    return Receipt(
        message_id=message_id,
        conversation_id=original[1],
        status=MessageStatus.DUPLICATE,
        urgent=bool(original[3]),
        duplicate_of=original[0],
    )
