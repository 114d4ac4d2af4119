"""Signing in and out through the real form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from inbox.config import Settings
from inbox.main import create_app
from inbox.runtime import build_runtime
from tests.staff.factories import PASSWORD, csrf_token, make_staff, sign_in


def test_right_password_signs_in_and_goes_to_the_inbox(client, staff):
    response = sign_in(client, email=staff.email)

    assert response.status_code == 303
    assert response.headers["location"] == "/inbox"
    assert client.get("/account/password").status_code == 200


def test_email_is_case_insensitive(client, staff):
    assert sign_in(client, email="  Nurse@Hospital.Example ").status_code == 303


def test_wrong_password_shows_an_error_and_sets_no_session(client, staff):
    response = sign_in(client, email=staff.email, password="not the password at all")

    assert response.status_code == 401
    assert "not right" in response.text
    assert 'aria-describedby="signin-error"' in response.text
    assert "inbox_session" not in response.headers.get("set-cookie", "")
    assert client.get("/account/password").status_code == 303


def test_empty_fields_are_asked_for_without_counting_as_failures(client, staff, settings):
    for _ in range(settings.login_attempts_per_15min + 1):
        response = sign_in(client, email=staff.email, password="")
        assert response.status_code == 422
        assert "Please enter your e-mail address and your password." in response.text

    assert sign_in(client, email=staff.email).status_code == 303


def test_unknown_account_gets_the_same_answer_as_a_wrong_password(client, staff):
    wrong = sign_in(client, email=staff.email, password="not the password at all")
    unknown = sign_in(client, email="nobody@hospital.example", password="not the password at all")

    assert unknown.status_code == wrong.status_code == 401
    assert "The e-mail address or the password is not right." in unknown.text


def test_login_without_csrf_token_is_refused(client, staff):
    client.get("/login")
    response = client.post("/login", data={"email": staff.email, "password": PASSWORD})

    assert response.status_code == 403
    assert "inbox_session" not in response.headers.get("set-cookie", "")


def test_login_token_from_another_browser_is_refused(app, staff):
    with TestClient(app) as other, TestClient(app, follow_redirects=False) as victim:
        token = csrf_token(other.get("/login").text)
        victim.get("/login")
        response = victim.post(
            "/login", data={"email": staff.email, "password": PASSWORD, "csrf_token": token}
        )
    assert response.status_code == 403


@pytest.mark.parametrize("target", ["/account/password", "/inbox?state=urgent&page=2"])
def test_local_next_is_honoured(client, staff, target):
    response = sign_in(client, email=staff.email, next=target)

    assert response.headers["location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/login?next=/login",
        "inbox",
    ],
)
def test_foreign_next_is_ignored(client, staff, target):
    response = sign_in(client, email=staff.email, next=target)

    assert response.headers["location"] == "/inbox"


def test_signed_out_page_request_goes_to_login_and_back(client, staff):
    response = client.get("/account/password?x=1")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%2Fpassword%3Fx%3D1"
    page = client.get(response.headers["location"])
    assert 'name="next" value="/account/password?x=1"' in page.text


def test_signed_out_json_request_gets_401(client):
    response = client.get("/account/password", headers={"accept": "application/json"})

    assert response.status_code == 401
    assert response.json()["detail"] == "Please sign in."


def test_login_page_sends_signed_in_staff_on(client, staff):
    sign_in(client, email=staff.email)

    assert client.get("/login").headers["location"] == "/inbox"


def test_login_issues_a_fresh_session_each_time(client, staff):
    client.cookies.set("inbox_session", "planted-by-an-attacker", domain="testserver.local")
    token = csrf_token(client.get("/login").text)
    fields = {"email": staff.email, "password": PASSWORD, "csrf_token": token}
    first = client.post("/login", data=fields)
    first_cookie = client.cookies.get("inbox_session")
    second = client.post("/login", data=fields)  # a second login tab, already signed in

    assert first.status_code == 303 and second.status_code == 303
    assert first_cookie not in (None, "planted-by-an-attacker")
    assert client.cookies.get("inbox_session") != first_cookie


def test_session_cookie_is_httponly_and_samesite_lax(client, staff):
    cookies = sign_in(client, email=staff.email).headers.get_list("set-cookie")
    cookie = next(value for value in cookies if value.startswith("inbox_session=")).lower()

    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # served over http here
    assert "max-age" not in cookie  # a browser-session cookie


def test_session_cookie_is_secure_and_host_only_over_https(settings, clock):
    https = Settings(**{**settings.model_dump(), "public_url": "https://inbox.hospital.example"})
    runtime = build_runtime(https, clock=clock)
    try:
        staff = make_staff(runtime)
        with TestClient(
            create_app(runtime=runtime),
            base_url="https://inbox.hospital.example",  # the public URL's host: others get 400
            follow_redirects=False,
        ) as client:
            response = sign_in(client, email=staff.email)
    finally:
        runtime.engine.dispose()
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(item for item in cookies if item.startswith("__Host-inbox_session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_logout_ends_the_session_even_for_a_copied_cookie(client, staff):
    sign_in(client, email=staff.email)
    copied = client.cookies.get("inbox_session")
    token = csrf_token(client.get("/account/password").text)

    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'inbox_session=""' in response.headers["set-cookie"]
    client.cookies.set("inbox_session", copied, domain="testserver.local")
    assert client.get("/account/password").status_code == 303


def test_logout_needs_the_csrf_token(client, staff):
    sign_in(client, email=staff.email)

    assert client.post("/logout").status_code == 403
    assert client.get("/account/password").status_code == 200


def test_logout_accepts_the_token_in_a_header(client, staff):
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/account/password").text)

    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303
    assert client.get("/account/password").status_code == 303


def test_forged_session_cookie_is_ignored(client, staff):
    sign_in(client, email=staff.email)
    value = client.cookies.get("inbox_session")
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    client.cookies.set("inbox_session", forged, domain="testserver.local")

    assert client.get("/account/password").status_code == 303
