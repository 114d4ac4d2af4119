"""Reading mails in the browser: what the built-in catcher caught (`/inbox/caught-mail`) and the
HTML part of any mail the service sent (`…/mails/{id}/html`).

A mail's HTML is only ever shown inside a sandboxed frame, served with a CSP that runs nothing
and loads nothing from outside; its text and its raw source are printed escaped.
"""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import NotFound
from inbox.outbox.models import CaughtMail, OutboxMail
from inbox.staff.deps import CurrentStaff, staff_context

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
# the frame shows the mail's own inline styles and nothing that runs or calls out
MAIL_FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)
_parser = email.parser.BytesParser(policy=email.policy.default)


@dataclass(frozen=True)
class CaughtView:
    mail: CaughtMail
    text: str | None  # the plain-text part, decoded
    has_html: bool
    problem: str | None  # why the mail could not be read, if it could not


def read_caught(mail: CaughtMail) -> CaughtView:
    """The parts of one caught mail that staff read; a mail that cannot be parsed says so."""
    try:
        parsed = _parser.parsebytes(mail.raw)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(("plain",))
        html_part = parsed.get_body(("html",))
        text = str(text_part.get_content()) if text_part is not None else None
        return CaughtView(mail, text, html_part is not None, None)
    except (LookupError, ValueError, AssertionError, UnicodeError) as error:
        problem = f"This mail could not be read ({type(error).__name__})."
        return CaughtView(mail, None, False, problem)


def caught_html(mail: CaughtMail) -> str | None:
    """The HTML part of a caught mail, decoded, or None."""
    try:
        parsed = _parser.parsebytes(mail.raw)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(("html",))
        return str(part.get_content()) if part is not None else None
    except (LookupError, ValueError, AssertionError, UnicodeError):
        return None


def list_caught_page(session: Session, *, before: int | None, limit: int) -> list[CaughtMail]:
    """Caught mails, newest first, older than the mail `before` (the next page)."""
    query = select(CaughtMail).order_by(col(CaughtMail.id).desc()).limit(limit)
    if before is not None:
        query = query.where(col(CaughtMail.id) < before)
    return list(session.exec(query))


def mail_frame(html: str) -> Response:
    """A mail's HTML for a sandboxed <iframe>: nothing in it runs or loads from outside."""
    headers = {
        "Content-Security-Policy": MAIL_FRAME_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "no-store",
    }
    return Response(html, media_type="text/html", headers=headers)


@router.get("/inbox/caught-mail", response_class=HTMLResponse, name="caught_mail")
def caught_mail_list(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    before: int | None = Query(default=None, ge=1, le=2**63 - 1),
) -> Response:
    """The mails the built-in catcher received, newest first, each with its text and HTML."""
    mails = list_caught_page(session, before=before, limit=PAGE_SIZE + 1)
    context = {
        "mails": [read_caught(mail) for mail in mails[:PAGE_SIZE]],
        "older": mails[PAGE_SIZE - 1].id if len(mails) > PAGE_SIZE else None,
        "catcher_on": runtime.settings.mail_catcher and not runtime.settings.smtp_host,
        **staff_context(request, staff),
    }
    return request.app.state.templates.TemplateResponse(request, "review/caught.html", context)


@router.get("/inbox/caught-mail/{mail_id}/html")
def caught_mail_html(mail_id: int, session: SessionDep, staff: CurrentStaff) -> Response:
    """The HTML part of one caught mail, for the sandboxed frame."""
    mail = session.get(CaughtMail, mail_id)
    html = caught_html(mail) if mail is not None else None
    if html is None:
        raise NotFound("This caught mail has no HTML part.")
    return mail_frame(html)


@router.get("/inbox/conversations/{conversation_id}/mails/{mail_id}/html")
def sent_mail_html(
    conversation_id: int, mail_id: int, session: SessionDep, staff: CurrentStaff
) -> Response:
    """The HTML part of a mail of this conversation, as it was queued, for the sandboxed frame."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None or mail.conversation_id != conversation_id or not mail.html_body:
        raise NotFound("This conversation has no such mail, or its text was removed.")
    return mail_frame(mail.html_body)
