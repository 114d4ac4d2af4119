"""Building a mail's RFC 5322 bytes, once, at enqueue: the worker only ever sends stored bytes.

multipart/alternative (text, then HTML), CRLF line ends, every line ≤ 998 characters (headers are
folded at 78, bodies are quoted-printable or base64 when a line would be too long), non-ASCII names
and subjects as RFC 2047 encoded words. An address whose local part is not ASCII makes the whole
message SMTPUTF8 (UTF-8 headers), and the sender then asks the server for SMTPUTF8.
"""

from __future__ import annotations

import email.policy
import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

# RFC 5322 §2.1.1: a line is at most 998 characters plus CRLF.
MAX_LINE = 998
# 7bit: a non-ASCII body is sent quoted-printable or base64, never as bare 8-bit bytes.
_ASCII_POLICY = email.policy.SMTP.clone(cte_type="7bit")
_UTF8_POLICY = email.policy.SMTPUTF8  # the server announced SMTPUTF8, so 8BITMIME too


class MailNotBuildable(ValueError):
    """The mail cannot be turned into a valid message (a header that cannot be encoded, …)."""


@dataclass(frozen=True)
class Envelope:
    sender: str  # addr-spec for MAIL FROM
    recipient: str  # addr-spec for RCPT TO
    smtputf8: bool  # an address needs SMTPUTF8


@dataclass
class MailParts:
    sender: str  # "Name <addr>" or "addr" (settings.mail_from)
    recipient: str  # "Name <addr>" or "addr"
    subject: str
    text: str
    html: str
    message_id: str
    date: datetime
    reply_to: str = ""
    in_reply_to: str | None = None
    references: str | None = None
    automatic: bool = True
    extra_headers: dict[str, str] = field(default_factory=dict)


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID, `<hex@domain>`."""
    return f"<{uuid.uuid4().hex}@{domain}>"


@functools.lru_cache(maxsize=256)  # the sender is the same for every mail
def parse_address(value: str, *, what: str) -> Address:
    """One mailbox ("Name <a@b>" or "a@b") as an Address; MailNotBuildable when it is not one."""
    if "\r" in value or "\n" in value:
        raise MailNotBuildable(f"{what} contains a line break")
    probe = EmailMessage(policy=_UTF8_POLICY)
    try:
        probe["To"] = value
        addresses = probe["To"].addresses
    except (ValueError, IndexError, TypeError) as exc:
        raise MailNotBuildable(f"{what} {value!r} is not an address: {exc}") from exc
    if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
        raise MailNotBuildable(f"{what} {value!r} is not exactly one address")
    return addresses[0]


def envelope_for(sender: str, recipient: str) -> Envelope:
    """The SMTP envelope of a mail from its From and To values."""
    from_address = parse_address(sender, what="sender")
    to_address = parse_address(recipient, what="recipient")
    smtputf8 = not (from_address.addr_spec.isascii() and to_address.addr_spec.isascii())
    return Envelope(from_address.addr_spec, to_address.addr_spec, smtputf8)


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise MailNotBuildable(f"header {name} contains a line break")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MailNotBuildable(f"header {name} cannot be encoded: {exc.reason}") from exc


def _verbatim_headers(headers: dict[str, str]) -> bytes:
    """ASCII extra headers (List-Unsubscribe URLs…) written as given: the email package would turn
    a long URL into encoded words, which mail clients do not read as a URL."""
    lines = []
    for name, value in headers.items():
        line = f"{name}: {value}"
        if len(line) > MAX_LINE:
            raise MailNotBuildable(f"header {name} is longer than {MAX_LINE} characters")
        lines.append(line.encode("ascii") + b"\r\n")
    return b"".join(lines)


def build_message(parts: MailParts) -> bytes:
    """The complete message as bytes with CRLF line ends; MailNotBuildable if it cannot be built."""
    headers = {"Subject": parts.subject, "Reply-To": parts.reply_to, **parts.extra_headers}
    for name, value in headers.items():
        _check_header(name, value)
    verbatim = {k: v for k, v in parts.extra_headers.items() if k.isascii() and v.isascii()}
    try:
        envelope = envelope_for(parts.sender, parts.recipient)
        policy = _UTF8_POLICY if envelope.smtputf8 else _ASCII_POLICY
        message = EmailMessage(policy=policy)
        message["Date"] = format_datetime(parts.date)
        message["From"] = parts.sender
        message["To"] = parts.recipient
        message["Subject"] = parts.subject
        message["Message-ID"] = parts.message_id
        if parts.in_reply_to:
            message["In-Reply-To"] = parts.in_reply_to
        if parts.references:
            message["References"] = parts.references
        if parts.reply_to:
            message["Reply-To"] = parts.reply_to
        if parts.automatic:
            message["Auto-Submitted"] = "auto-generated"
        for name, value in parts.extra_headers.items():
            if name not in verbatim:
                message[name] = value
        message.set_content(parts.text)  # also sets MIME-Version: 1.0
        message.add_alternative(parts.html, subtype="html")
        for part in message.iter_parts():
            del part["MIME-Version"]  # the email package repeats it in each part
        raw = message.as_bytes()
        if verbatim:
            end = raw.index(b"\r\n\r\n") + 2
            raw = raw[:end] + _verbatim_headers(verbatim) + raw[end:]
    except MailNotBuildable:
        raise
    except (ValueError, TypeError, LookupError, UnicodeError, email.errors.MessageError) as exc:
        raise MailNotBuildable(f"{type(exc).__name__}: {exc}") from exc
    longest = max(len(line) for line in raw.split(b"\r\n"))
    if longest > MAX_LINE:
        raise MailNotBuildable(f"a line of {longest} characters (the limit is {MAX_LINE})")
    return raw
