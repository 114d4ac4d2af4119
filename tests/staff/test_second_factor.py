"""The second factor: TOTP from an authenticator app (required for admins, or for everyone with
INBOX_REQUIRE_2FA=true), recovery codes, and a second step throttled like the password."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from inbox.config import Settings
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.staff.factories import PASSWORD, TOTP_SECRET, csrf_token, make_staff, totp_code

_KEY = re.compile(r'id="totp-key">([A-Z2-7 ]+)<')
_RECOVERY = re.compile(r"<li><code>([a-z2-9-]+)</code></li>")


def password_step(client: TestClient, email: str, password: str = PASSWORD):
    page = client.get("/login")
    fields = {"email": email, "password": password, "csrf_token": csrf_token(page.text)}
    return client.post("/login", data=fields)


def send_code(client: TestClient, code: str, *, path: str = "/login/code"):
    page = client.get(path)
    return client.post(path, data={"code": code, "csrf_token": csrf_token(page.text)})


def enrol(client: TestClient, runtime, email: str) -> list[str]:
    """Sign in as an account that has no app yet, set one up; the recovery codes shown."""
    assert password_step(client, email).headers["location"] == "/login/enrol"
    page = client.get("/login/enrol")
    secret = _KEY.search(page.text).group(1).replace(" ", "")
    done = send_code(client, pyotp.TOTP(secret).at(runtime.clock.now()), path="/login/enrol")
    assert done.status_code == 200
    return _RECOVERY.findall(done.text)


def test_an_admin_without_an_app_sets_one_up_before_reaching_the_inbox(client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)

    response = password_step(client, admin.email)

    assert response.status_code == 303 and response.headers["location"] == "/login/enrol"
    assert client.get("/inbox").status_code == 303  # the password alone signs nobody in
    page = client.get("/login/enrol")
    assert "<svg" in page.text and "Set up a sign-in code" in page.text
    codes = enrol(TestClient(client.app, follow_redirects=False), runtime, admin.email)
    assert len(codes) == 10 and len(set(codes)) == 10


def test_setting_up_the_app_signs_in_and_shows_ten_recovery_codes_once(client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)

    codes = enrol(client, runtime, admin.email)

    assert len(codes) == 10
    assert client.get("/inbox").status_code == 200
    assert client.get("/login/enrol").status_code == 303  # nothing more to show


def test_a_wrong_setup_code_keeps_the_account_without_a_session(client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)
    password_step(client, admin.email)

    response = send_code(client, "000000", path="/login/enrol")

    assert response.status_code == 401
    assert "not right" in response.text
    assert client.get("/inbox").status_code == 303


def test_with_require_2fa_every_staff_member_sets_up_an_app(settings, clock):
    strict = Settings(**{**settings.model_dump(), "require_2fa": True})
    runtime = build_runtime(strict, clock=clock)
    try:
        nurse = make_staff(runtime, email="nurse@hospital.example")
        with TestClient(create_app(runtime=runtime), follow_redirects=False) as client:
            assert password_step(client, nurse.email).headers["location"] == "/login/enrol"
    finally:
        runtime.engine.dispose()


def test_staff_without_the_requirement_sign_in_with_the_password(client, runtime):
    nurse = make_staff(runtime, email="nurse@hospital.example")

    assert password_step(client, nurse.email).headers["location"] == "/inbox"


def test_an_account_with_an_app_needs_its_current_code(client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    assert password_step(client, admin.email).headers["location"] == "/login/code"

    wrong = send_code(client, "123456")
    right = send_code(client, pyotp.TOTP(TOTP_SECRET).at(runtime.clock.now()))

    assert wrong.status_code == 401 and "not right" in wrong.text
    assert right.status_code == 303 and right.headers["location"] == "/inbox"
    assert client.get("/inbox").status_code == 200


def test_a_code_signs_in_only_once(app, client, runtime):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    code = pyotp.TOTP(TOTP_SECRET).at(runtime.clock.now())
    password_step(client, admin.email)
    assert send_code(client, code).status_code == 303

    with TestClient(app, follow_redirects=False) as thief:
        password_step(thief, admin.email)
        assert send_code(thief, code).status_code == 401


def test_a_code_from_long_ago_is_refused(client, runtime, clock):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    old = pyotp.TOTP(TOTP_SECRET).at(clock.now() - timedelta(minutes=5))
    password_step(client, admin.email)

    assert send_code(client, old).status_code == 401


def test_a_recovery_code_stands_in_for_the_app_once(app, client, runtime, clock):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True, totp=False)
    codes = enrol(client, runtime, admin.email)

    for attempt in ("first", "again"):
        with TestClient(app, follow_redirects=False) as browser:
            password_step(browser, admin.email)
            response = send_code(browser, codes[0].upper())  # as typed, in capitals
            if attempt == "first":
                assert response.status_code == 303
                assert browser.get("/inbox").status_code == 200
            else:
                assert response.status_code == 401


def test_the_code_step_is_throttled_like_the_password(client, runtime, settings):
    admin = make_staff(runtime, email="admin@hospital.example", admin=True)
    password_step(client, admin.email)
    for _ in range(settings.login_attempts_per_15min):
        assert send_code(client, "000000").status_code == 401

    response = send_code(client, totp_code(runtime, email=admin.email))

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert client.get("/inbox").status_code == 303


def test_the_second_step_without_the_password_step_goes_back_to_sign_in(client, runtime):
    make_staff(runtime, email="admin@hospital.example", admin=True)

    assert client.get("/login/code").headers["location"] == "/login"
    token = csrf_token(client.get("/login").text)
    forged = client.post("/login/code", data={"code": "123456", "csrf_token": token})
    assert forged.status_code == 303 and forged.headers["location"] == "/login"


@pytest.mark.parametrize("path", ["/login/code", "/login/enrol"])
def test_the_second_step_pages_are_never_cached(client, runtime, path):
    admin = make_staff(
        runtime, email="admin@hospital.example", admin=True, totp=path.endswith("code")
    )
    password_step(client, admin.email)

    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
