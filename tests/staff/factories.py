"""Staff accounts and signing in, for any test that needs a signed-in client.

staff = make_staff(runtime, admin=True)     # admins come with an authenticator app (TOTP_SECRET)
sign_in(client, email=staff.email)          # the client now carries the session cookie
token = csrf_token(client.get("/account/password").text)

`sign_in` answers the second step with the app's code when the account has one (three sign-ins
of one account per 30 s of the test clock, as a real app's codes allow).
"""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
from fastapi.testclient import TestClient
from httpx import Response

from inbox.db import session_scope
from inbox.runtime import Runtime
from inbox.staff import service
from inbox.staff.models import StaffUser
from inbox.staff.sealing import seal, unseal

PASSWORD = "correct horse battery staple"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_staff(
    runtime: Runtime,
    *,
    email: str = "nurse@hospital.example",
    password: str = PASSWORD,
    admin: bool = False,
    active: bool = True,
    totp: bool | None = None,
) -> StaffUser:
    """A staff account stored in the test database (committed); with `totp` (default: for
    admins) its authenticator app is set up with TOTP_SECRET."""
    with session_scope(runtime.engine) as session:
        staff = service.create_staff(
            session, email=email, password=password, admin=admin, now=runtime.clock.now()
        )
        if admin if totp is None else totp:
            staff.totp_secret = seal(runtime.settings.secret_key, TOTP_SECRET)
            staff.totp_enabled_at = runtime.clock.now()
            session.add(staff)
        if not active:
            service.set_active(
                session, staff=staff, active=False, now=runtime.clock.now(), actor="test"
            )
    return staff


def csrf_token(html: str) -> str:
    """The hidden csrf_token of the first form in a page."""
    found = _CSRF.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


def sign_in(
    client: TestClient, *, email: str, password: str = PASSWORD, next: str | None = None
) -> Response:
    """Post the real login form (with its CSRF token) and return the response (303 on success)."""
    page = client.get("/login")
    fields = {"email": email, "password": password, "csrf_token": csrf_token(page.text)}
    if next is not None:
        fields["next"] = next
    response = client.post("/login", data=fields)
    if response.status_code == 303 and response.headers["location"].startswith("/login/code"):
        page = client.get(response.headers["location"])
        runtime = client.app.state.runtime
        code = totp_code(runtime, email=email)
        fields = {"code": code, "csrf_token": csrf_token(page.text)}
        if next is not None:
            fields["next"] = next
        response = client.post("/login/code", data=fields)
    return response


def totp_code(runtime: Runtime, *, email: str, at: datetime | None = None) -> str:
    """The authenticator app's code for `email` that the service has not accepted yet."""
    with session_scope(runtime.engine) as session:
        staff = service.get_by_email(session, email=email)
        assert staff is not None and staff.totp_secret, f"{email} has no authenticator app"
        secret, last = unseal(runtime.settings.secret_key, staff.totp_secret), staff.totp_last_step
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at or runtime.clock.now())
    steps = [step for step in (current - 1, current, current + 1) if last is None or step > last]
    assert steps, f"every code of {email} for this moment was used: advance the clock"
    return totp.generate_otp(steps[0])
