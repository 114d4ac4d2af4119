"""Reading a stored mail with the standard library (`email.policy.default`), defensively: a
broken header or part gives an empty value and never an exception, so one bad mail cannot stop
the queue. HTML-only mail is turned into text (inscriptis); HTML kept for staff is sanitised (nh3).
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

import inscriptis
import nh3

MAX_TEXT = 200_000  # characters kept of a mail's text (a 10 MiB mail of text is not a question)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
# no images: a remote image in a patient's mail would be fetched by the staff member's browser
_HTML_TAGS = nh3.ALLOWED_TAGS - {"img"}


@dataclass
class ParsedMail:
    message: Message
    sender: str  # the From address, lower case ("" when there is none)
    sender_name: str
    subject: str
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    recipients: list[str]  # To and Cc addresses
    text: str  # the readable text (from HTML when there is no text part)
    html: str | None  # sanitised HTML part, if any
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return header(self.message, name)


_parser = email.parser.BytesParser(policy=email.policy.default)


def parse_mail(raw: bytes) -> ParsedMail:
    """Every field processing needs, from the raw bytes."""
    message = _parser.parsebytes(raw)
    name, address = _mailbox(header(message, "From"))
    references = _MESSAGE_ID.findall(header(message, "References"))
    text, html = _bodies(message)
    return ParsedMail(
        message=message,
        sender=address,
        sender_name=name,
        subject=_one_line(header(message, "Subject"))[:500],
        message_id=header(message, "Message-ID").strip(),
        in_reply_to=_MESSAGE_ID.findall(header(message, "In-Reply-To")),
        references=references,
        recipients=[
            address
            for name in ("To", "Cc", "Delivered-To", "X-Original-To")
            for address in _addresses(message, name)
        ],
        text=text[:MAX_TEXT],
        html=html,
        defects=[type(defect).__name__ for defect in message.defects][:20],
    )


def header(message: Message, name: str) -> str:
    """One header as text; "" when it is missing or cannot be decoded."""
    try:
        value = message.get(name)
    except Exception:  # the email package raises on some malformed headers
        return ""
    if value is None:
        return ""
    try:
        return str(value)
    except Exception:
        return ""


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _mailbox(value: str) -> tuple[str, str]:
    name, address = email.utils.parseaddr(value)
    address = address.strip().lower()
    if "@" not in address:
        address = ""
    return _one_line(name)[:200], address[:320]


def _addresses(message: Message, name: str) -> list[str]:
    try:
        values = message.get_all(name) or []
        pairs = email.utils.getaddresses([str(value) for value in values])
    except Exception:
        return []
    return [address.strip().lower() for _, address in pairs if "@" in address][:50]


def part_text(part: Message) -> str:
    """A text part's content, whatever its declared charset or transfer encoding says: a wrong
    or unknown charset falls back to UTF-8, then to Windows-1252 (what such mail usually is)."""
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str) and "\ufffd" not in content:
                return content
        except Exception:  # unknown charset, broken base64…: decode the bytes leniently
            pass
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return _decode(payload, part.get_content_charset() or "utf-8")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _decode(payload: bytes, charset: str) -> str:
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", errors="replace")


def _bodies(message: Message) -> tuple[str, str | None]:
    plain: Message | None = None
    html_part: Message | None = None
    try:
        if isinstance(message, EmailMessage):
            plain = message.get_body(preferencelist=("plain",))
            html_part = message.get_body(preferencelist=("html",))
    except Exception:
        plain = html_part = None
    if plain is None and html_part is None and not message.is_multipart():
        subtype = message.get_content_subtype()
        if message.get_content_maintype() == "text":
            plain, html_part = (message, None) if subtype != "html" else (None, message)
    html = part_text(html_part) if html_part is not None else None
    if plain is not None:
        text = part_text(plain)
    elif html is not None:
        text = html_to_text(html)
    else:
        text = ""
    text = text.replace("\x00", "").replace("\r\n", "\n")
    return text, sanitise_html(html) if html is not None else None


def html_to_text(html: str) -> str:
    """The text a reader sees in an HTML mail."""
    try:
        return inscriptis.get_text(html)
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)


def sanitise_html(html: str) -> str:
    """HTML safe to show staff: no scripts, no event handlers, no remote images."""
    return nh3.clean(html[:MAX_TEXT], tags=_HTML_TAGS)
