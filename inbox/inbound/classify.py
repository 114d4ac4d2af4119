"""What kind of mail came in: a bounce, an automatic reply, or a person writing.

Bounces: a delivery-status report (RFC 3464), mail to one of our VERP addresses, or mail with the
null envelope sender. Automatic replies (RFC 3834 and the headers vacation programs and lists
actually send): `Auto-Submitted` other than `no`, `X-Autoreply`/`X-Autorespond`,
`Precedence: bulk/junk/list/auto_reply`, `List-Id`. Neither ever gets an automatic answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import collapse_rfc2231_value

from inbox.config import Settings
from inbox.inbound.models import InboundKind
from inbox.inbound.parse import ParsedMail
from inbox.inbound.store import NULL_SENDER
from inbox.outbox.addresses import BOUNCES, own_mailboxes, read_signed_address

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


@dataclass(frozen=True)
class Kind:
    kind: str  # InboundKind
    reason: str
    verp_mail_id: int | None = None  # the mail a bounce is about, from its VERP address


def envelope_sender(parsed: ParsedMail, stored: str) -> str:
    """The envelope sender as stored, or (IMAP, pipe) as the final MTA wrote it in Return-Path."""
    if stored:
        return stored
    return_path = parsed.header("Return-Path").strip()
    if return_path in ("<>", ""):
        return NULL_SENDER if return_path == "<>" else ""
    return return_path.strip("<>")


def classify(parsed: ParsedMail, *, settings: Settings, sender: str, recipients: list[str]) -> Kind:
    """Bounce, automatic reply or person (see the module docstring)."""
    for address in recipients + parsed.recipients:
        signed = read_signed_address(settings, address)
        if signed is not None and signed[0] == BOUNCES:
            return Kind(InboundKind.BOUNCE, "sent to a VERP address", verp_mail_id=signed[1])
    message = parsed.message
    if (
        message.get_content_type() == "multipart/report"
        and collapse_rfc2231_value(message.get_param("report-type") or "").lower()
        == "delivery-status"
    ):
        return Kind(InboundKind.BOUNCE, "a delivery-status report")
    automatic = automatic_reason(parsed)
    if parsed.sender and parsed.sender in own_mailboxes(settings):
        automatic = "sent from the service's own address"  # our mail came back: never answer it
    if automatic:
        return Kind(InboundKind.AUTOMATIC, automatic)
    if sender == NULL_SENDER:
        return Kind(InboundKind.BOUNCE, "the envelope sender is empty")
    return Kind(InboundKind.PERSON, "a person's mail")


def automatic_reason(parsed: ParsedMail) -> str | None:
    """Why the mail was sent by a program, or None."""
    auto_submitted = parsed.header("Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if parsed.header(name).strip():
            return f"{name} is set"
    precedence = parsed.header("Precedence").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if parsed.header("List-Id").strip():
        return "List-Id is set (a mailing list)"
    return None
