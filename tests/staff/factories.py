"""Staff accounts and signing in, for any test that needs a signed-in client.

staff = make_staff(runtime, admin=True)
sign_in(client, email=staff.email)          # the client now carries the session cookie
token = csrf_token(client.get("/account/password").text)
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from inbox.db import session_scope
from inbox.runtime import Runtime
from inbox.staff import service
from inbox.staff.models import StaffUser

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_staff(
    runtime: Runtime,
    *,
    email: str = "nurse@hospital.example",
    password: str = PASSWORD,
    admin: bool = False,
    active: bool = True,
) -> StaffUser:
    """A staff account stored in the test database (committed)."""
    with session_scope(runtime.engine) as session:
        staff = service.create_staff(
            session, email=email, password=password, admin=admin, now=runtime.clock.now()
        )
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
    return client.post("/login", data=fields)
