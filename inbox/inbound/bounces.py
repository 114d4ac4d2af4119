"""Bounces: which of our mails did not arrive, and whether for good (hard) or for now (soft).

The mail is found by its VERP envelope sender (`bounces+<mail id>.<signature>@…`, the report is
addressed there), else by the Message-ID the report quotes. flufl.bounce reads the report's
failed addresses in the many formats MTAs use; a DSN's `Action`/`Status` fields decide when it
finds none. A hard bounce suppresses the address (which cancels its follow-ups and queued
automatic mails); a soft one is only noted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from flufl.bounce import all_failures
from sqlmodel import Session

from inbox.followups.models import SuppressionReason
from inbox.followups.service import normalise_address, suppress
from inbox.inbound.matching import sent_mail_for
from inbox.inbound.models import BounceSeverity
from inbox.inbound.parse import ParsedMail, part_text
from inbox.outbox.models import OutboxMail

log = logging.getLogger(__name__)
_MESSAGE_ID = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
_ACTION = re.compile(r"^Action:\s*(\w+)", re.IGNORECASE | re.MULTILINE)
_STATUS = re.compile(r"^Status:\s*([245])\.\d{1,3}\.\d{1,3}", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Bounce:
    mail: OutboxMail | None
    severity: str  # BounceSeverity
    text: str  # what the report says, briefly


def read_bounce(session: Session, *, parsed: ParsedMail, verp_mail_id: int | None) -> Bounce:
    """The mail the bounce is about (if it is ours) and how bad it is."""
    mail = session.get(OutboxMail, verp_mail_id) if verp_mail_id is not None else None
    report = _report_text(parsed.message)
    if mail is None:
        mail = sent_mail_for(session, _MESSAGE_ID.findall(report))
    temporary, permanent = _failures(parsed.message)
    recipient = normalise_address(mail.recipient) if mail is not None else None
    if recipient is not None and recipient in permanent:
        severity = BounceSeverity.HARD
    elif recipient is not None and recipient in temporary:
        severity = BounceSeverity.SOFT
    else:
        severity = _severity_from_report(report, permanent=bool(permanent))
    status = _STATUS.search(report)
    action = _ACTION.search(report)
    summary = ", ".join(
        part
        for part in (
            f"action {action.group(1).lower()}" if action else "",
            f"status {status.group(0).split(':', 1)[1].strip()}" if status else "",
        )
        if part
    )
    return Bounce(mail=mail, severity=severity, text=summary or parsed.subject[:200])


def apply_bounce(session: Session, *, bounce: Bounce, now: datetime) -> None:
    """A hard bounce suppresses the address (cancelling its follow-ups); a soft one does nothing
    more than being recorded."""
    if bounce.mail is not None and bounce.severity == BounceSeverity.HARD:
        suppress(session, email=bounce.mail.recipient, reason=SuppressionReason.BOUNCED, now=now)


def _failures(message: Message) -> tuple[set[str], set[str]]:
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector choking on an odd report must not fail the mail
        log.warning("flufl.bounce could not read a bounce", exc_info=True)
        return set(), set()
    return _decoded(temporary), _decoded(permanent)


def _decoded(addresses: frozenset[bytes]) -> set[str]:
    found = set()
    for address in addresses:
        text = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)
        found.add(normalise_address(text))
    return found


def _severity_from_report(report: str, *, permanent: bool) -> BounceSeverity:
    action = _ACTION.search(report)
    status = _STATUS.search(report)
    if permanent or (action and action.group(1).lower() == "failed"):
        return BounceSeverity.HARD
    if status and status.group(1) == "5":
        return BounceSeverity.HARD
    return BounceSeverity.SOFT


def _report_text(message: Message) -> str:
    """The machine-readable parts of a report (delivery-status, the returned headers), as text."""
    chunks = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "text/rfc822-headers", "message/rfc822-headers"):
            chunks.append(_payload_text(part))
        elif kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = inner[0].get("Message-ID")
                if found:
                    chunks.append(f"Message-ID: {found}")
        elif kind == "text/plain" and len(chunks) < 4:
            chunks.append(part_text(part)[:20000])
    return "\n".join(chunk for chunk in chunks if chunk)


def _payload_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/delivery-status parses into header blocks
        return "\n".join(
            "\n".join(f"{name}: {value}" for name, value in block.items())
            for block in payload
            if isinstance(block, Message)
        )
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(payload or "")
