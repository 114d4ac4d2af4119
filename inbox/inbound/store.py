"""Taking a mail in: store its bytes and commit, before anyone answers "accepted".

Every way in (LMTP/SMTP, the pipe, IMAP, the embedded catcher) ends here. A mail whose
Message-ID was stored before is a re-delivery and is dropped (the first copy is kept). A mail
that is not a mail at all (no header block) is stored too, in state `failed` with the reason, so
that nothing handed over is lost and staff can see it; the caller learns it was malformed.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from inbox.inbound.models import InboundMail, InboundState

_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,100}:")
_raw_headers = email.parser.BytesHeaderParser(policy=email.policy.compat32)
NULL_SENDER = "<>"


@dataclass(frozen=True)
class Stored:
    inbound_id: int | None  # None: a re-delivery of a mail already stored
    malformed: str | None = None  # why the bytes are not a mail (stored all the same)

    @property
    def duplicate(self) -> bool:
        return self.inbound_id is None


def malformed_reason(raw: bytes) -> str | None:
    """Why `raw` cannot be a mail (empty, no header block), or None."""
    if not raw.strip():
        return "the mail is empty"
    if not _HEADER_LINE.match(raw.lstrip(b"\r\n")):
        return "the mail does not start with a header line"
    return None


def message_key(raw: bytes) -> str:
    """The mail's Message-ID, or a digest of its bytes when it has none (or an unusable one)."""
    try:
        value = _raw_headers.parsebytes(raw[:262144]).get("Message-ID")
    except Exception:  # a header block the parser cannot read: fall back to the digest
        value = None
    text = str(value or "").strip()
    text = "".join(ch for ch in text if ch.isprintable() and not ch.isspace())
    if not text or len(text) > 250:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    return text


def store_inbound(
    engine: Engine,
    *,
    raw: bytes,
    source: str,
    envelope_from: str | None,
    recipients: list[str],
    now: datetime,
) -> Stored:
    """Store one mail and commit (raises the database's error when it cannot: answer 451/75)."""
    problem = malformed_reason(raw)
    row = {
        "message_id": message_key(raw),
        "raw": raw,
        "size": len(raw),
        "source": source,
        "envelope_from": _envelope_from(envelope_from)[:320],
        "envelope_to": ", ".join(recipients)[:2000],
        "received_at": now,
        "state": InboundState.FAILED if problem else InboundState.RECEIVED,
        "attempts": 0,
        "error": problem,
        "foreign_sender": False,
        "urgent": False,
    }
    table = InboundMail.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        insert = (postgresql if connection.dialect.name == "postgresql" else sqlite).insert
        inbound_id = connection.execute(
            insert(table)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(table.c.id)
        ).scalar()
    return Stored(inbound_id=inbound_id, malformed=problem)


def _envelope_from(value: str | None) -> str:
    """The null sender (`MAIL FROM:<>`, bounces) is kept as "<>"; unknown as ""."""
    if value is None:
        return ""
    value = value.strip()
    return NULL_SENDER if value in ("", "<>") else value


def count_received(engine: Engine) -> int:
    """How many mails wait for processing."""
    table = InboundMail.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).where(table.c.state == InboundState.RECEIVED)
            ).scalar_one()
        )
