"""Sign-in, sign-out and the staff member's own password page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox.config import Settings
from inbox.deps import RuntimeDep, SessionDep
from inbox.errors import InvalidInput, RateLimited
from inbox.runtime import Runtime
from inbox.staff import admin, audit, devices, passwords, service, sessions, signin, throttle
from inbox.staff.deps import CsrfProtected, CurrentStaff, SignedInDep, staff_context
from inbox.staff.models import StaffUser
from inbox.staff.throttle import Client

router = APIRouter(tags=["staff"], include_in_schema=False)
router.include_router(admin.router)

HOME = "/inbox"
SESSION_ENDED = (
    "You were signed out: after {minutes} minutes without activity, or because the password "
    "was changed. Please sign in again."
)
FormText = Annotated[str, Form()]


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the inbox (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return HOME
    if any(ord(char) < 32 for char in target) or "\\" in target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("/login"):
        return HOME
    return target


def _login_page(
    request: Request,
    runtime: Runtime,
    *,
    email: str = "",
    next_url: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    settings = runtime.settings
    token, new_cookie = sessions.login_csrf_token(request, settings)
    context = {
        "hospital_name": settings.hospital_name,
        "email": email,
        "next": next_url,
        "error": error,
        "notice": notice,
        "csrf_token": token,
    }
    response = request.app.state.templates.TemplateResponse(
        request, "staff/login.html", context, status_code=status
    )
    if new_cookie:
        sessions.set_login_cookie(response, settings=settings, value=new_cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, runtime: RuntimeDep, signed_in: SignedInDep, next: str = "", ended: str = ""
) -> Response:
    """The sign-in form (signed-in visitors go straight on)."""
    if signed_in is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = SESSION_ENDED.format(minutes=runtime.settings.session_idle_minutes) if ended else ""
    return _login_page(request, runtime, next_url=next, notice=notice)


def client_of(request: Request, settings: Settings, *, email: str) -> Client:
    """The throttle's view of who is signing in: the IP and a known-device token, if any."""
    account = throttle.account_key(settings, email)
    return Client(
        ip=request.client.host if request.client else None,
        device=devices.known_device(request, settings, account=account),
    )


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "",
) -> Response:
    """Check the credentials; on success a fresh session and a 303 to `next` or the inbox.

    No request transaction: the sign-in steps open their own short ones, and none is open
    while the password is hashed."""
    settings = runtime.settings

    def form_again(error: str, status: int) -> HTMLResponse:
        return _login_page(request, runtime, email=email, next_url=next, error=error, status=status)

    if not sessions.login_csrf_valid(request, settings, csrf_token):
        return form_again("The sign-in form had expired. Please enter your password again.", 403)
    if not email.strip() or not password:
        return form_again("Please enter your e-mail address and your password.", 422)
    now = runtime.clock.now()
    client = client_of(request, settings, email=email)
    try:
        staff = signin.check_password(
            runtime.engine,
            settings=settings,
            email=email,
            password=password,
            client=client,
            now=now,
        )
    except RateLimited as exc:
        refusal = form_again(exc.message, exc.status)
        refusal.headers.update(exc.headers)
        return refusal
    except signin.LoginFailed as exc:
        return form_again(exc.message, exc.status)
    cookie = signin.finish(
        runtime.engine,
        settings=settings,
        staff=staff,
        client=client,
        replaced_cookie=sessions.session_cookie(request, settings),
        user_agent=request.headers.get("user-agent"),
        now=now,
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_cookie(response, settings=settings, value=cookie)
    devices.remember_device(
        response,
        settings=settings,
        account=throttle.account_key(settings, email),
        token=client.device,
    )
    return response


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
    try:
        service.change_password(
            session,
            staff=staff,
            password=new_password,
            now=now,
            actor=staff,
            current_password=current_password,
        )
    except InvalidInput as exc:
        return _password_page(request, staff, errors=exc.errors, status=422)
    _, cookie = sessions.start(session, staff=staff, now=now, settings=runtime.settings)
    response = RedirectResponse("/account/password?changed=true", status_code=303)
    sessions.set_cookie(response, settings=runtime.settings, value=cookie)
    return response
