"""The sign-in pages: password, then (when the account has or needs one) the second factor.

    POST /login         password right -> the inbox, or /login/code, or /login/enrol
    GET|POST /login/code   a code from the authenticator app or a recovery code
    GET|POST /login/enrol  scan the QR code, confirm a code, see the ten recovery codes once

None of these holds a request transaction: the steps in `signin` open their own short ones.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from inbox.config import Settings
from inbox.deps import RuntimeDep
from inbox.errors import RateLimited
from inbox.runtime import Runtime
from inbox.staff import devices, refusals, second_factor, sessions, signin, throttle
from inbox.staff.deps import SignedInDep
from inbox.staff.models import StaffUser
from inbox.staff.throttle import Client

router = APIRouter(tags=["staff"], include_in_schema=False)

HOME = "/inbox"
SESSION_ENDED = (
    "You were signed out: after {minutes} minutes without activity, after {hours} hours in "
    "all, or because the password was changed. Please sign in again."
)
EXPIRED = "The form had expired. Please start again from the sign-in page."
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


def client_of(request: Request, settings: Settings, *, email: str) -> Client:
    """The throttle's view of who is signing in: the IP and a known-device token, if any."""
    account = throttle.account_key(settings, email)
    return Client(
        ip=request.client.host if request.client else None,
        device=devices.known_device(request, settings, account=account),
    )


def _page(
    request: Request, runtime: Runtime, template: str, *, status: int = 200, **context: object
) -> HTMLResponse:
    settings = runtime.settings
    token, new_cookie = sessions.login_csrf_token(request, settings)
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {"hospital_name": settings.hospital_name, "csrf_token": token, **context},
        status_code=status,
    )
    if new_cookie:
        sessions.set_login_cookie(response, settings=settings, value=new_cookie)
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(page: HTMLResponse, exc: RateLimited) -> HTMLResponse:
    page.headers.update(exc.headers)
    return page


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, runtime: RuntimeDep, signed_in: SignedInDep, next: str = "", ended: str = ""
) -> Response:
    """The sign-in form (signed-in visitors go straight on)."""
    if signed_in is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    settings = runtime.settings
    notice = ""
    if ended:
        notice = SESSION_ENDED.format(
            minutes=settings.session_idle_minutes, hours=settings.session_absolute_hours
        )
    return _page(request, runtime, "staff/login.html", email="", next=next, error="", notice=notice)


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "",
) -> Response:
    """Check the password; then the inbox, or the second step when the account has or needs
    a second factor."""
    settings = runtime.settings

    def form_again(error: str, status: int) -> HTMLResponse:
        return _page(
            request, runtime, "staff/login.html", email=email, next=next, error=error,
            notice="", status=status,
        )  # fmt: skip

    if not sessions.login_csrf_valid(request, settings, csrf_token):
        refusals.record(request, reason=refusals.CSRF)
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
        return _refused(form_again(exc.message, exc.status), exc)
    except signin.LoginFailed as exc:
        return form_again(exc.message, exc.status)
    if second_factor.enrolled(staff) or second_factor.required(settings, staff):
        step = "/login/code" if second_factor.enrolled(staff) else "/login/enrol"
        if step == "/login/enrol":
            signin.offer_enrolment(runtime.engine, settings=settings, staff=staff)
        query = f"?next={quote(next, safe='/')}" if next else ""
        response = RedirectResponse(step + query, status_code=303)
        signin.set_pending(response, settings=settings, staff=staff)
        return response
    return _signed_in(request, runtime, staff=staff, client=client, next=next)


def _signed_in(
    request: Request,
    runtime: Runtime,
    *,
    staff: StaffUser,
    client: Client,
    next: str,
    response: Response | None = None,
) -> Response:
    """Every step passed: a fresh session cookie, the known-device cookie, on to `next`."""
    settings = runtime.settings
    cookie = signin.finish(
        runtime.engine,
        settings=settings,
        staff=staff,
        client=client,
        replaced_cookie=sessions.session_cookie(request, settings),
        user_agent=request.headers.get("user-agent"),
        now=runtime.clock.now(),
    )
    if response is None:
        target = "/account/password" if staff.must_change_password else safe_next(next)
        response = RedirectResponse(target, status_code=303)
    sessions.set_cookie(response, settings=settings, value=cookie)
    account = throttle.account_key(settings, staff.email)
    devices.remember_device(response, settings=settings, account=account, token=client.device)
    signin.clear_pending(response, settings=settings)
    return response


def _pending(request: Request, runtime: Runtime) -> StaffUser | None:
    staff_id = signin.pending_staff_id(request, runtime.settings)
    return signin.pending_staff(runtime.engine, staff_id=staff_id) if staff_id else None


def _back_to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


@router.get("/login/code", response_class=HTMLResponse)
def code_form(request: Request, runtime: RuntimeDep, next: str = "") -> Response:
    """The second step for an account with an authenticator app."""
    staff = _pending(request, runtime)
    if staff is None or not second_factor.enrolled(staff):
        return _back_to_login()
    return _page(request, runtime, "staff/login_code.html", next=next, error="")


@router.post("/login/code")
def code_submit(
    request: Request,
    runtime: RuntimeDep,
    code: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "",
) -> Response:
    """Check the code; on success a fresh session and a 303 to `next` or the inbox."""
    return _second_step(request, runtime, code=code, csrf_token=csrf_token, next=next)


def _second_step(
    request: Request,
    runtime: Runtime,
    *,
    code: str,
    csrf_token: str,
    next: str,
    enrolling: bool = False,
) -> Response:
    """The code form's post, signing in (`enrolling`: confirming a new app, whose recovery
    codes the answer shows)."""
    settings = runtime.settings
    if not sessions.login_csrf_valid(request, settings, csrf_token):
        refusals.record(request, reason=refusals.CSRF)
        return _page(request, runtime, "staff/login_code.html", next="", error=EXPIRED, status=403)
    staff = _pending(request, runtime)
    expected = staff is not None and (
        staff.totp_pending_secret is not None if enrolling else second_factor.enrolled(staff)
    )
    if staff is None or not expected:
        return _back_to_login()

    def form_again(error: str, status: int) -> HTMLResponse:
        if enrolling:
            return _enrol_page(request, runtime, staff, next=next, error=error, status=status)
        return _page(
            request, runtime, "staff/login_code.html", next=next, error=error, status=status
        )

    client = client_of(request, settings, email=staff.email)
    try:
        codes = signin.check_code(
            runtime.engine,
            settings=settings,
            staff=staff,
            code=code,
            client=client,
            now=runtime.clock.now(),
            enrolling=enrolling,
        )
    except RateLimited as exc:
        return _refused(form_again(exc.message, exc.status), exc)
    except signin.CodeWrong as exc:
        return form_again(exc.message, exc.status)
    if not enrolling:
        return _signed_in(request, runtime, staff=staff, client=client, next=next)
    target = "/account/password" if staff.must_change_password else safe_next(next)
    page = _page(request, runtime, "staff/recovery_codes.html", codes=codes, next=target)
    return _signed_in(request, runtime, staff=staff, client=client, next=next, response=page)


def _enrol_page(
    request: Request, runtime: Runtime, staff: StaffUser, *, next: str, error: str, status: int
) -> HTMLResponse:
    secret = second_factor.pending_secret(runtime.settings, staff) or ""
    uri = second_factor.provisioning_uri(runtime.settings, staff, secret)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return _page(
        request, runtime, "staff/login_enrol.html", next=next, error=error, status=status,
        qr=second_factor.qr_svg(uri), secret=grouped,
    )  # fmt: skip


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_form(request: Request, runtime: RuntimeDep, next: str = "") -> Response:
    """Setting up the authenticator app, for an account that needs a second factor."""
    staff = _pending(request, runtime)
    if staff is None or staff.totp_pending_secret is None:
        return _back_to_login()
    return _enrol_page(request, runtime, staff, next=next, error="", status=200)


@router.post("/login/enrol")
def enrol_submit(
    request: Request,
    runtime: RuntimeDep,
    code: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "",
) -> Response:
    """Confirm the app's first code: signed in, and the recovery codes shown once."""
    return _second_step(
        request, runtime, code=code, csrf_token=csrf_token, next=next, enrolling=True
    )
