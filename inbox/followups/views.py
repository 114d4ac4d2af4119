"""Routes of follow-ups: the public unsubscribe link (RFC 8058 one-click) and the staff list of
upcoming follow-ups with cancel, move and send-now.

The unsubscribe POST needs no session, cookie or CSRF token: the random token in the URL is the
proof, and a mail client posts `List-Unsubscribe=One-Click` to it without any of those.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput
from inbox.followups import delivery, service
from inbox.followups.models import SuppressionReason
from inbox.followups.unsubscribe import address_of
from inbox.staff.deps import CsrfProtected, CurrentStaff, staff_context

router = APIRouter()

DONE = {
    "cancelled": "The follow-up was cancelled.",
    "moved": "The follow-up was moved.",
    "sent": "The follow-up was queued for sending now.",
    "not-sent": "The follow-up was not sent (see its reason) and is now cancelled.",
}
_CONVERSATION_PAGE = "/inbox/conversations/"


def conversation_context(session: Session, *, conversation_id: int, email: str) -> dict[str, Any]:
    """What followups/_conversation.html needs besides `csrf_token`: for the conversation page."""
    return {
        "conversation_id": conversation_id,
        "follow_ups": service.follow_ups_for_conversation(session, conversation_id),
        "suppression": service.get_suppression(session, email),
    }


def _unsubscribe_page(
    request: Request, *, state: str, email: str | None = None, status: int = 200
) -> Response:
    response = request.app.state.templates.TemplateResponse(
        request, "followups/unsubscribe.html", {"state": state, "email": email}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token must not leak to other sites
    return response


@router.get("/unsubscribe/{token}", name="unsubscribe")
def confirm_unsubscribe(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A confirmation page with one button; opening the link changes nothing (link scanners)."""
    email = address_of(session, runtime.settings, token)
    if email is None:
        return _unsubscribe_page(request, state="invalid", status=400)
    return _unsubscribe_page(request, state="confirm", email=email)


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Stop automatic mail to the token's address (idempotent; one-click per RFC 8058)."""
    email = address_of(session, runtime.settings, token)
    if email is None:
        return _unsubscribe_page(request, state="invalid", status=400)
    service.suppress(
        session, email=email, reason=SuppressionReason.UNSUBSCRIBED, now=runtime.clock.now()
    )
    return _unsubscribe_page(request, state="done", email=email)


@router.get("/follow-ups", name="follow_ups")
def list_follow_ups(
    request: Request, session: SessionDep, runtime: RuntimeDep, staff: CurrentStaff, done: str = ""
) -> Response:
    """Upcoming follow-ups of every conversation, soonest first, with their actions."""
    zone = ZoneInfo(runtime.settings.timezone)
    items = service.upcoming_follow_ups(session)
    return request.app.state.templates.TemplateResponse(
        request,
        "followups/list.html",
        {
            **staff_context(request, staff),
            "items": [(item, item.due_at.astimezone(zone)) for item in items],
            "timezone": runtime.settings.timezone,
            "done": DONE.get(done),
            "now": runtime.clock.now().astimezone(zone),
        },
    )


def _back(next_url: str, done: str) -> RedirectResponse:
    target = (
        next_url
        if next_url.startswith(_CONVERSATION_PAGE) and "//" not in next_url
        else "/follow-ups"
    )
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}done={done}", status_code=303)


@router.post("/follow-ups/{follow_up_id}/cancel")
def cancel(
    follow_up_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
    next: Annotated[str, Form()] = "",
) -> Response:  # noqa: A002
    """Cancel one scheduled follow-up."""
    service.cancel_follow_up(
        session, follow_up_id=follow_up_id, staff=staff, now=runtime.clock.now()
    )
    return _back(next, "cancelled")


@router.post("/follow-ups/{follow_up_id}/move")
def move(
    follow_up_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
    due_at: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:  # noqa: A002
    """Move one scheduled follow-up to a new date and time (local time of INBOX_TIMEZONE)."""
    try:
        local = datetime.fromisoformat(due_at.strip())
        if local.tzinfo is None:
            local = local.replace(tzinfo=ZoneInfo(runtime.settings.timezone))
        when = local.astimezone(UTC)  # a date at the very end of the calendar has no UTC time
    except (ValueError, OverflowError):
        raise InvalidInput(
            {"due_at": "Please give a date and time, e.g. 2026-03-12 09:30."}
        ) from None
    service.move_follow_up(
        session, follow_up_id=follow_up_id, due_at=when, staff=staff, now=runtime.clock.now()
    )
    return _back(next, "moved")


@router.post("/follow-ups/{follow_up_id}/send")
def send_now(
    follow_up_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
    next: Annotated[str, Form()] = "",
) -> Response:  # noqa: A002
    """Queue one scheduled follow-up for sending now."""
    mail = delivery.send_follow_up_now(
        session, runtime=runtime, follow_up_id=follow_up_id, staff=staff, now=runtime.clock.now()
    )
    return _back(next, "sent" if mail is not None else "not-sent")
