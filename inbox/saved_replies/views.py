"""Admin pages of saved replies: the list with a form to add one, a page to change or delete one.
Post/Redirect/Get; a refused change shows the form again with the reason and what was typed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput, NotFound
from inbox.saved_replies import service
from inbox.saved_replies.fields import FIELDS
from inbox.staff.deps import AdminStaff, CsrfProtected, staff_context
from inbox.staff.models import StaffUser

router = APIRouter(prefix="/admin/saved-replies", include_in_schema=False)

DONE = {
    "created": "The saved reply was added. Staff can insert it into a draft now.",
    "changed": "The saved reply was changed.",
    "deleted": "The saved reply was deleted.",
}
TitleField = Annotated[str, Form()]
BodyField = Annotated[str, Form()]


def _page(
    request: Request, session: SessionDep, admin: StaffUser, *, editing: Any = None,
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:  # fmt: skip
    context = {
        **staff_context(request, admin),
        "saved_replies": service.list_saved_replies(session),
        "editing": editing,
        "values": values or {"title": "", "body": ""},
        "errors": errors or {},
        "fields": FIELDS,
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return request.app.state.templates.TemplateResponse(
        request, "saved_replies/admin.html", context, status_code=status
    )


def _back(done: str) -> Response:
    return RedirectResponse(f"/admin/saved-replies?done={done}", status_code=303)


@router.get("", response_class=HTMLResponse)
def saved_reply_list(request: Request, session: SessionDep, admin: AdminStaff) -> Response:
    """Every saved reply and the form to add one."""
    return _page(request, session, admin)


@router.post("")
def saved_reply_create(
    request: Request, session: SessionDep, runtime: RuntimeDep, admin: AdminStaff,
    _csrf: CsrfProtected, title: TitleField = "", body: BodyField = "",
) -> Response:  # fmt: skip
    """Add a saved reply."""
    try:
        service.create_saved_reply(
            session, title=title, body=body, staff=admin, now=runtime.clock.now()
        )
    except InvalidInput as error:
        session.rollback()
        values = {"title": title, "body": body}
        return _page(request, session, admin, values=values, errors=error.errors, status=422)
    session.commit()
    return _back("created")


@router.get("/{saved_reply_id}", response_class=HTMLResponse)
def saved_reply_edit_page(
    request: Request, saved_reply_id: int, session: SessionDep, admin: AdminStaff
) -> Response:
    """The form to change or delete one saved reply."""
    saved = service.get_saved_reply(session, saved_reply_id=saved_reply_id)
    if saved is None:
        raise NotFound("This saved reply does not exist (any more).")
    values = {"title": saved.title, "body": saved.body}
    return _page(request, session, admin, editing=saved, values=values)


@router.post("/{saved_reply_id}")
def saved_reply_update(
    request: Request, saved_reply_id: int, session: SessionDep, runtime: RuntimeDep,
    admin: AdminStaff, _csrf: CsrfProtected, title: TitleField = "", body: BodyField = "",
) -> Response:  # fmt: skip
    """Change a saved reply's title and text."""
    try:
        service.update_saved_reply(
            session, saved_reply_id=saved_reply_id, title=title, body=body, staff=admin,
            now=runtime.clock.now(),
        )  # fmt: skip
    except InvalidInput as error:
        session.rollback()
        saved = service.get_saved_reply(session, saved_reply_id=saved_reply_id)
        values = {"title": title, "body": body}
        return _page(
            request, session, admin, editing=saved, values=values, errors=error.errors, status=422
        )
    session.commit()
    return _back("changed")


@router.post("/{saved_reply_id}/delete")
def saved_reply_delete(
    saved_reply_id: int, session: SessionDep, runtime: RuntimeDep, admin: AdminStaff,
    _csrf: CsrfProtected,
) -> Response:  # fmt: skip
    """Delete a saved reply."""
    service.delete_saved_reply(
        session, saved_reply_id=saved_reply_id, staff=admin, now=runtime.clock.now()
    )
    session.commit()
    return _back("deleted")
