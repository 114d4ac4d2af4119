"""A reply written or edited by staff, turned into the mail the patient receives: the text part
as typed (wrapped) and an HTML part of escaped paragraphs with only http(s) links made live."""

from __future__ import annotations

import re
from html import escape

from inbox.errors import InvalidInput
from inbox.mails.render import RenderedMail
from inbox.mails.wrapping import format_plain_text

MAX_SUBJECT = 300
MAX_TEXT = 20000

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_PARAGRAPH_STYLE = "margin:0 0 1em 0;"
_BODY_STYLE = (
    "max-width:640px;margin:0 auto;padding:16px;font-family:Arial,Helvetica,sans-serif;"
    "font-size:16px;line-height:1.5;color:#1b2430;"
)


def compose_edited(*, subject: str, text: str) -> RenderedMail:
    """The mail that staff's subject and text make (what saving stores, and the preview shows);
    InvalidInput names the fields that cannot make a mail."""
    subject = " ".join(subject.split())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    errors: dict[str, str] = {}
    if not subject:
        errors["subject"] = "Please enter a subject."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"Please keep the subject under {MAX_SUBJECT} characters."
    if not text.strip():
        errors["text"] = "Please enter the text of the reply."
    elif len(text) > MAX_TEXT:
        errors["text"] = f"Please keep the reply under {MAX_TEXT} characters."
    if errors:
        raise InvalidInput(errors)
    text = format_plain_text(text=text)
    return RenderedMail(subject=subject, text=text, html=html_from_text(text=text, subject=subject))


def html_from_text(*, text: str, subject: str) -> str:
    """The HTML part for a hand-written text: escaped, one <p> per paragraph, http(s) links."""
    paragraphs = [part for part in re.split(r"\n[ \t]*\n", text.strip()) if part.strip()]
    body = "\n".join(
        f'<p style="{_PARAGRAPH_STYLE}">'
        + "<br>\n".join(_linkify(line) for line in paragraph.split("\n"))
        + "</p>"
        for paragraph in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(subject)}</title>\n</head>\n"
        f'<body style="margin:0;padding:0;background:#ffffff;">\n<div style="{_BODY_STYLE}">\n'
        f"{body}\n</div>\n</body>\n</html>\n"
    )


def _linkify(line: str) -> str:
    """Escape one line and turn its http(s) URLs (without trailing punctuation) into links."""
    out: list[str] = []
    position = 0
    for found in _URL.finditer(line):
        url = found.group(0).rstrip(_TRAILING)
        if len(url) <= len("https://"):
            continue
        out.append(escape(line[position : found.start()]))
        out.append(f'<a href="{escape(url)}" style="color:#0b5cad;">{escape(url)}</a>')
        position = found.start() + len(url)
    out.append(escape(line[position:]))
    return "".join(out)
