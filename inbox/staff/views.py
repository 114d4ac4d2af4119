"""Sign-out and the staff member's own pages (password); the sign-in pages are in
`signin_views`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput, RateLimited
from inbox.staff import admin, audit, passwords, service, sessions, signin, signin_views
from inbox.staff.deps import CsrfProtected, CurrentStaff, SignedInDep, staff_context
from inbox.staff.models import StaffUser
from inbox.staff.throttle import Client

router = APIRouter(tags=["staff"], include_in_schema=False)
router.include_router(admin.router)
router.include_router(signin_views.router)
FormText = signin_views.FormText


@router.post("/logout")
def logout(
    runtime: RuntimeDep, session: SessionDep, signed_in: SignedInDep, _csrf: CsrfProtected
) -> Response:
    """End this browser's session and go back to the sign-in page."""
    response = RedirectResponse("/login", status_code=303)
    if signed_in is not None:
        audit.record(
            session,
            actor=signed_in.staff,
            action="logout",
            target_type="staff_user",
            target_id=signed_in.staff.id,
            now=runtime.clock.now(),
        )
        sessions.end(session, row=signed_in.row)
    sessions.clear_cookie(response, settings=runtime.settings)
    return response


def _password_page(
    request: Request,
    staff: StaffUser,
    *,
    errors: dict[str, str] | None = None,
    changed: bool = False,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        **staff_context(request, staff),
        "min_password_length": passwords.MIN_LENGTH,
        "errors": errors or {},
        "changed": changed,
    }
    return request.app.state.templates.TemplateResponse(
        request, "staff/password.html", context, status_code=status
    )


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, staff: CurrentStaff, changed: bool = False) -> HTMLResponse:
    """The form to change one's own password."""
    return _password_page(request, staff, changed=changed)


@router.post("/account/password")
def password_change(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    staff: CurrentStaff,
    _csrf: CsrfProtected,
    current_password: FormText = "",
    new_password: FormText = "",
    confirm_password: FormText = "",
) -> Response:
    """Change the password; every other browser is signed out, this one gets a fresh session."""
    if new_password != confirm_password:
        return _password_page(
            request,
            staff,
            status=422,
            errors={"confirm_password": "The two new passwords are not the same."},
        )
    now = runtime.clock.now()
    # end the transaction that resolved the session: none may be open while a password is
    # hashed (on SQLite it would hold the write lock, and the throttle needs its own)
    session.commit()
    signed_in = request.state.signed_in
    client = Client(
        ip=request.client.host if request.client else None, device=f"session:{signed_in.row.id}"
    )
    try:
        right = signin.check_current_password(
            runtime.engine,
            settings=runtime.settings,
            staff=staff,
            password=current_password,
            client=client,
            now=now,
        )
    except RateLimited as exc:
        page = _password_page(
            request, staff, errors={"current_password": exc.message}, status=exc.status
        )
        page.headers.update(exc.headers)
        return page
    if not right:
        errors = {"current_password": "This is not your current password."}
        return _password_page(request, staff, errors=errors, status=422)
    try:
        service.change_password(session, staff=staff, password=new_password, now=now, actor=staff)
    except InvalidInput as exc:
        return _password_page(request, staff, errors=exc.errors, status=422)
    _, cookie = sessions.start(
        session,
        staff=staff,
        now=now,
        settings=runtime.settings,
        user_agent=request.headers.get("user-agent"),
    )
    response = RedirectResponse("/account/password?changed=true", status_code=303)
    sessions.set_cookie(response, settings=runtime.settings, value=cookie)
    return response


@router.get("/account/sessions", response_class=HTMLResponse)
def sessions_page(request: Request, session: SessionDep, staff: CurrentStaff) -> HTMLResponse:
    """Every browser signed in as oneself, with a button to sign out everywhere."""
    signed_in = request.state.signed_in
    context: dict[str, Any] = {
        **staff_context(request, staff),
        "rows": sessions.list_sessions(session, staff=staff),
        "this_session": signed_in.row.id,
    }
    return request.app.state.templates.TemplateResponse(request, "staff/sessions.html", context)


@router.post("/account/sessions/end-all")
def sessions_end_all(
    runtime: RuntimeDep, session: SessionDep, staff: CurrentStaff, _csrf: CsrfProtected
) -> Response:
    """Sign out every browser signed in as oneself, this one included."""
    sessions.end_all(session, staff=staff)
    audit.record(
        session,
        actor=staff,
        action="logout_everywhere",
        target_type="staff_user",
        target_id=staff.id,
        now=runtime.clock.now(),
    )
    response = RedirectResponse("/login", status_code=303)
    sessions.clear_cookie(response, settings=runtime.settings)
    return response
