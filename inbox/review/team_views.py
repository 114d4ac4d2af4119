"""Staff pages and actions of team work: assign a conversation, its kind, tags and call log
(on the conversation page), and the bulk actions of the list with their one confirmation."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput
from inbox.review import calls, team
from inbox.review.conversation_views import ActionDep
from inbox.staff.deps import CsrfProtected, CurrentStaff, staff_context
from inbox.staff.models import StaffUser

router = APIRouter()


def _assignee_id(value: str, staff: StaffUser) -> int | None:
    """'me', a colleague's id, or '' / 'nobody' for unassigned."""
    value = value.strip()
    if value == "me":
        return staff.id
    if value in ("", "nobody"):
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput({"assignee": "Please choose a colleague from the list."})
    return int(value)


@router.post("/inbox/conversations/{conversation_id}/assign")
def assign(act: ActionDep, assignee: Annotated[str, Form()] = "") -> Response:
    """Assign the conversation to me, to a colleague, or to nobody."""
    return act.run(
        "assigned", team.assign, assignee_id=_assignee_id(assignee, act.staff), detail=None
    )


@router.post("/inbox/conversations/{conversation_id}/kind")
def set_kind(act: ActionDep, kind: Annotated[str, Form()] = "") -> Response:
    """Staff's choice of what the conversation is about."""
    return act.run("kind", team.set_kind, runtime=act.runtime, kind=kind)


@router.post("/inbox/conversations/{conversation_id}/tags")
def set_tags(act: ActionDep, tags: Annotated[str, Form()] = "") -> Response:
    """Replace the conversation's tags (comma-separated)."""
    return act.run("tagged", team.set_tags, unsaved={"tags": tags}, tags=tags)


@router.post("/inbox/conversations/{conversation_id}/calls")
def log_call(
    act: ActionDep, outcome: Annotated[str, Form()] = "", note: Annotated[str, Form()] = ""
) -> Response:
    """Record that the patient was phoned, and how it went."""
    return act.run(
        "called", calls.record_call, unsaved={"call_note": note}, outcome=outcome, note=note
    )


def _back(value: str) -> str:
    """Where the list was: a path of /inbox only (never another site, never another page)."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != "/inbox":
        return "/inbox"
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("done", "count", "skipped")]
    return "/inbox?" + urlencode(kept) if kept else "/inbox"


@router.post("/inbox/bulk", name="inbox_bulk")
def bulk(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
    action: Annotated[str, Form()] = "",
    ids: Annotated[list[str], Form()] = [],  # noqa: B006
    assignee: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/inbox",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """The ticked conversations: first a page that asks once, then the action on every one."""
    back = _back(back)
    templates = request.app.state.templates
    try:
        chosen, picked = team.parse_bulk(action, ids)
        assignee_id = _assignee_id(assignee, staff) if chosen is team.BulkAction.ASSIGN else None
    except InvalidInput as error:
        context = {**staff_context(request, staff), "error": error, "back": back}
        return templates.TemplateResponse(
            request, "review/bulk.html", context, status_code=error.status
        )
    if confirmed != "yes":
        owner = None
        if assignee_id is not None:
            owner = next((s for s in team.colleagues(session) if s.id == assignee_id), None)
        context = {
            **staff_context(request, staff),
            "action": chosen,
            "conversations": team.subjects(session, picked),
            "assignee": assignee,
            "owner": owner,
            "to_nobody": chosen is team.BulkAction.ASSIGN and assignee_id is None,
            "back": back,
            "error": None,
        }
        return templates.TemplateResponse(request, "review/bulk.html", context)
    outcome = team.bulk_apply(
        session, action=chosen, conversation_ids=picked, assignee_id=assignee_id, staff=staff,
        now=runtime.clock.now(),
    )  # fmt: skip
    session.commit()  # visible before the browser follows the redirect
    joiner = "&" if "?" in back else "?"
    summary = {"done": chosen.value, "count": len(outcome.done), "skipped": len(outcome.skipped)}
    return RedirectResponse(back + joiner + urlencode(summary), status_code=303)
