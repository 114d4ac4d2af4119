"""The conversation page: read a patient's messages, review the draft, and act on it.

Every action is a POST form with the CSRF token that answers with a 303 back to the page
(Post/Redirect/Get). A refused action (a stale draft version, an empty field, a placeholder
left in the text) re-renders the page with the reason and the staff member's unsaved input,
with the status of the error, so nothing typed is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from sqlmodel import Session

from inbox.conversations.languages import language_name
from inbox.conversations.models import ConversationState, MessageStatus
from inbox.deps import RuntimeDep, SessionDep
from inbox.drafting import edits
from inbox.drafting import service as drafting
from inbox.errors import InboxError, InvalidInput, NotFound
from inbox.followups.views import conversation_context as followups_context
from inbox.live.changes import conversation_token
from inbox.live.presence import present
from inbox.mails.render import STAFF_PLACEHOLDER
from inbox.outbox.models import MailState, OutboxMail
from inbox.outbox.service import sending_subject
from inbox.review import actions, approval, team, timeline
from inbox.review.urgency import badge, mark_urgency, urgency_marks
from inbox.runtime import Runtime
from inbox.saved_replies import service as saved_replies
from inbox.staff.deps import CsrfProtected, CurrentStaff, staff_context
from inbox.staff.models import StaffUser

router = APIRouter(prefix="/inbox/conversations")

DONE = {
    "rebuilt": "The draft was rebuilt with the sections you chose.",
    "saved": "Your changes to the draft were saved.",
    "approved": "The reply was approved and is queued for sending.",
    "spam": "The conversation was discarded as spam.",
    "closed": "The conversation was closed.",
    "reopened": "The conversation was reopened for review.",
    "requeued": "The mail was queued again.",
    "suppressed": "The mail was cancelled, not sent: the address has asked for no automatic mail.",
    "noted": "Your note was added.",
    "marked": "The urgency was changed and your reason added as a note.",
    "assigned": "The conversation's owner was changed.",
    "kind": "The kind of the conversation was changed.",
    "tagged": "The tags were saved.",
    "called": "The call was added to the call log.",
}
# The preview frame shows the mail exactly as sent: its inline styles, nothing that runs.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)


@router.get("/{conversation_id}", name="conversation")
def show_conversation(
    request: Request,
    conversation_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
) -> Response:
    """The conversation with its triage, draft, preview, notes, mails and actions."""
    response = _page(request, session, runtime, staff, conversation_id)
    # the one write of a page view: who saw this patient's data, when (inbox.review.actions)
    actions.record_view(
        session, conversation_id=conversation_id, staff=staff, now=runtime.clock.now()
    )
    return response


@router.get("/{conversation_id}/preview", name="conversation_preview")
def preview_draft(
    conversation_id: int, session: SessionDep, runtime: RuntimeDep, staff: CurrentStaff
) -> Response:
    """The HTML part of the saved draft, byte for byte, for the sandboxed preview frame."""
    draft = drafting.get_draft(session, conversation_id=conversation_id)
    if draft is None:
        raise NotFound("This conversation has no draft yet.")
    return _preview(draft.html_body)


@router.post("/{conversation_id}/preview")
def preview_edit(
    conversation_id: int, session: SessionDep, runtime: RuntimeDep, staff: CurrentStaff,
    _csrf: CsrfProtected, subject: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
    part: Annotated[str, Form()] = "html",
) -> Response:  # fmt: skip
    """The mail that the edited, not yet saved, subject and text would make: its HTML part for
    the preview frame, or (`part=text`) its plain-text part."""
    draft = drafting.get_draft(session, conversation_id=conversation_id)
    if draft is None:
        raise NotFound("This conversation has no draft yet.")
    try:
        mail = edits.edited_mail(session, runtime=runtime, draft=draft, subject=subject, text=text)
    except InvalidInput as error:
        if part == "text":
            return _preview_text("\n".join(error.errors.values()))
        problems = "".join(f"<p>{escape(problem)}</p>" for problem in error.errors.values())
        return _preview(f"<!DOCTYPE html><title>Preview</title>{problems}")
    if part == "text":
        return _preview_text(mail.text)
    return _preview(mail.html)


def _preview_text(text: str) -> Response:
    return _preview(text, media_type="text/plain")


def _preview(body: str, *, media_type: str = "text/html") -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


@dataclass(frozen=True)
class Action:
    """One staff action on one conversation: who, in which transaction, with which runtime."""

    request: Request
    session: Session
    runtime: Runtime
    staff: StaffUser
    conversation_id: int

    def run(
        self, done: str | Callable[[Any], str], action: Callable[..., object], *,
        unsaved: dict[str, str] | None = None, **values: Any,
    ) -> Response:  # fmt: skip
        """Run `action`; 303 back to the page (`done` names the notice, or picks it from what
        the action returned), or the page again with the reason it was refused."""
        try:
            result = action(
                self.session, conversation_id=self.conversation_id, staff=self.staff,
                now=self.runtime.clock.now(), **values,
            )  # fmt: skip
        except NotFound:
            raise
        except InboxError as error:
            self.session.rollback()
            return _page(
                self.request, self.session, self.runtime, self.staff, self.conversation_id,
                error=error, unsaved=unsaved,
            )  # fmt: skip
        # Commit before answering: the session dependency ends after the response is sent
        # (FastAPI's default dependency scope), so the browser could follow the 303 and read
        # the page before this change is visible, or be told "done" about a failed commit.
        self.session.commit()
        done = done if isinstance(done, str) else done(result)
        path = self.request.url_for("conversation", conversation_id=self.conversation_id).path
        return RedirectResponse(f"{path}?done={done}", status_code=303)


async def _action(
    request: Request, conversation_id: int, session: SessionDep, runtime: RuntimeDep,
    staff: CurrentStaff, _csrf: CsrfProtected,
) -> Action:  # fmt: skip
    return Action(request, session, runtime, staff, conversation_id)


ActionDep = Annotated[Action, Depends(_action)]
VersionField = Annotated[int, Form()]


@router.post("/{conversation_id}/sections")
def choose_sections(
    act: ActionDep,
    version: VersionField,
    section_ids: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """Rebuild the draft from the ticked sections."""
    return act.run(
        "rebuilt", edits.redraft, runtime=act.runtime, section_ids=section_ids,
        expected_version=version,
    )  # fmt: skip


@router.post("/{conversation_id}/draft")
def save_draft(
    act: ActionDep, version: VersionField,
    subject: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    """Save the edited subject and text."""
    return act.run(
        "saved", edits.save_draft, unsaved={"subject": subject, "text": text},
        runtime=act.runtime, subject=subject, text=text, expected_version=version,
    )  # fmt: skip


@router.post("/{conversation_id}/approve")
def approve(
    act: ActionDep, version: VersionField,
    subject: Annotated[str | None, Form()] = None, text: Annotated[str | None, Form()] = None,
) -> Response:  # fmt: skip
    """Approve what the edit box holds (saved first if changed): it goes into the outbox; the
    worker sends it."""
    unsaved = (
        {"subject": subject, "text": text} if subject is not None and text is not None else None
    )
    return act.run(
        "approved", approval.approve_reply, unsaved=unsaved, runtime=act.runtime,
        expected_version=version, subject=subject, text=text,
    )  # fmt: skip


@router.post("/{conversation_id}/saved-reply")
def insert_saved_reply(
    act: ActionDep, subject: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
    saved_reply_id: Annotated[int, Form(ge=1, le=2**63 - 1)] = 1,
) -> Response:  # fmt: skip
    """The page again with the saved reply filled in and put into the (unsaved) text."""
    saved = saved_replies.get_saved_reply(act.session, saved_reply_id=saved_reply_id)
    draft = drafting.get_draft(act.session, conversation_id=act.conversation_id)
    if saved is None or draft is None:
        raise NotFound("This saved reply or this draft does not exist (any more).")
    message = edits.answered_message(act.session, draft=draft)
    settings = act.runtime.settings
    values = {
        "name": message.name, "subject": message.subject, "hospital_name": settings.hospital_name,
        "hospital_contact": settings.hospital_contact, "signature": settings.signature,
        "emergency_number": settings.emergency_number,
    }  # fmt: skip
    unsaved = {"subject": subject, "text": text}
    try:
        snippet = saved_replies.filled_in(saved, values=values)
    except InvalidInput as error:
        return _page(act.request, act.session, act.runtime, act.staff, act.conversation_id,
                     error=error, unsaved=unsaved)  # fmt: skip
    unsaved["text"] = saved_replies.insert_into(text, snippet, placeholder=STAFF_PLACEHOLDER)
    return _page(
        act.request, act.session, act.runtime, act.staff, act.conversation_id, unsaved=unsaved,
        done=f"“{saved.title}” was put into the text. It is not saved yet.",
    )  # fmt: skip


@router.post("/{conversation_id}/spam")
def discard(act: ActionDep) -> Response:
    """Discard the conversation as spam."""
    return act.run("spam", actions.discard_as_spam)


@router.post("/{conversation_id}/close")
def close(act: ActionDep) -> Response:
    """Close the conversation."""
    return act.run("closed", actions.close_conversation)


@router.post("/{conversation_id}/reopen")
def reopen(act: ActionDep) -> Response:
    """Reopen a closed or spam conversation."""
    return act.run("reopened", actions.reopen_conversation)


@router.post("/{conversation_id}/mails/{mail_id}/requeue")
def requeue(act: ActionDep, mail_id: int) -> Response:
    """Queue a failed or held mail of this conversation again (unless its address is
    suppressed meanwhile: then it is cancelled, and the page says so)."""

    def outcome(mail: OutboxMail) -> str:
        return "suppressed" if mail.state == MailState.CANCELLED else "requeued"

    return act.run(outcome, actions.requeue_failed_mail, mail_id=mail_id)


@router.post("/{conversation_id}/notes")
def add_note(act: ActionDep, note: Annotated[str, Form()] = "") -> Response:
    """Add an internal note."""
    return act.run("noted", actions.add_note, unsaved={"note": note}, body=note)


@router.post("/{conversation_id}/urgency")
def change_urgency(
    act: ActionDep,
    urgency: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Staff's correction of triage: urgent or not urgent, with the reason."""
    return act.run("marked", mark_urgency, unsaved={"reason": reason}, level=urgency, reason=reason)


def _done_notice(done: str, state: str) -> str | None:
    """The notice of the action just done; "approved … queued" only while the reply waits (a
    page reloaded after the mail went out must not say it is still queued)."""
    if done == "approved" and state != ConversationState.QUEUED:
        return None
    return DONE.get(done)


def _page(
    request: Request,
    session: Session,
    runtime: Runtime,
    staff: StaffUser,
    conversation_id: int,
    *,
    error: InboxError | None = None,
    unsaved: dict[str, str] | None = None,
    done: str | None = None,
) -> Response:
    view = actions.load_conversation(session, runtime=runtime, conversation_id=conversation_id)
    came_back = timeline.inbound_mails(session, conversation_id=conversation_id)
    context = {
        "view": view,
        "timeline": timeline.build_timeline(view, came_back),
        "undelivered": timeline.undelivered(came_back),
        "done": done or _done_notice(request.query_params.get("done", ""), view.conversation.state),
        "saved_replies": saved_replies.list_saved_replies(session),
        "live_since": conversation_token(session, conversation_id=conversation_id),
        "sending_subject": sending_subject(
            session,
            conversation_id=conversation_id,
            subject=view.draft.subject if view.draft else "",
        ),  # fmt: skip
        "present": [
            seen
            for seen in present(
                session,
                conversation_id=conversation_id,
                now=runtime.clock.now(),
                window=runtime.settings.presence_seconds,
            )
            if seen.staff_id != staff.id
        ],  # fmt: skip
        "error": error,
        "field_errors": error.errors if isinstance(error, InvalidInput) else {},
        "unsaved": unsaved or {},
        "highlighted": {
            message.id: highlight(message.body, view.evidence) for message in view.messages
        },
        "placeholder": STAFF_PLACEHOLDER,
        "states": ConversationState,
        "mail_states": MailState,
        "message_status": MessageStatus,
        "tier": badge(
            urgent=view.conversation.urgent,
            urgency=view.conversation.urgency,
            needs_reader=view.conversation.needs_reader,
        ),
        "language": language_name(view.conversation.language),
        "urgency_marks": urgency_marks(view.conversation),
        **followups_context(session, conversation_id=conversation_id, email=view.contact.email),
        **team.conversation_context(session, view=view, staff=staff),
        **staff_context(request, staff),
    }
    return request.app.state.templates.TemplateResponse(
        request, "review/conversation.html", context, status_code=error.status if error else 200
    )


def highlight(text: str, phrases: Iterable[str]) -> Markup:
    """The patient's text, escaped, with each evidence phrase found in it wrapped in <mark>."""
    words = sorted({phrase.strip() for phrase in phrases if phrase.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    out: list[Markup] = []
    position = 0
    for found in pattern.finditer(text):
        out.append(escape(text[position : found.start()]))
        out.append(Markup("<mark>%s</mark>") % found.group(0))
        position = found.end()
    out.append(escape(text[position:]))
    return Markup("").join(out)
