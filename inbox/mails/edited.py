"""What staff typed as a reply's subject and body, checked before a mail is built from it.

The body stays as typed (paragraphs, not wrapped lines); `MailRenderer.render_reply(body=…)`
puts it into the designed reply, and only the built mail's text part is wrapped.
"""

from __future__ import annotations

from inbox.errors import InvalidInput
from inbox.mails.markup import tidy_body

MAX_SUBJECT = 300
MAX_TEXT = 20000


def checked_edit(*, subject: str, text: str) -> tuple[str, str]:
    """The subject as one line and the body tidied; InvalidInput names the fields that cannot
    make a mail."""
    subject = " ".join(subject.split())
    body = tidy_body(text)
    errors: dict[str, str] = {}
    if not subject:
        errors["subject"] = "Please enter a subject."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"Please keep the subject under {MAX_SUBJECT} characters."
    if not body.strip():
        errors["text"] = "Please enter the text of the reply."
    elif len(body) > MAX_TEXT:
        errors["text"] = f"Please keep the reply under {MAX_TEXT} characters."
    if errors:
        raise InvalidInput(errors)
    return subject, body
