"""Sessions: sliding idle expiry, password changes and disabled accounts end them."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from inbox.db import session_scope
from inbox.staff import service
from tests.staff.factories import PASSWORD, csrf_token, sign_in

NEW_PASSWORD = "a brand new passphrase here"


def test_session_ends_after_the_idle_time(client, staff, clock, settings):
    sign_in(client, email=staff.email)
    clock.advance(timedelta(minutes=settings.session_idle_minutes))

    response = client.get("/account/password")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%2Fpassword&ended=1"
    assert "without activity" in client.get(response.headers["location"]).text


def test_activity_keeps_the_session_alive(client, staff, clock, settings):
    sign_in(client, email=staff.email)
    almost = timedelta(minutes=settings.session_idle_minutes - 1)
    for _ in range(3):
        clock.advance(almost)
        assert client.get("/account/password").status_code == 200


def test_disabling_an_account_ends_its_sessions(client, runtime, staff):
    sign_in(client, email=staff.email)
    with session_scope(runtime.engine) as session:
        account = service.get_by_email(session, email=staff.email)
        service.set_active(
            session, staff=account, active=False, now=runtime.clock.now(), actor="test"
        )

    assert client.get("/account/password").status_code == 303


def test_disabled_account_answers_exactly_like_a_wrong_password(client, runtime, staff):
    wrong = sign_in(client, email=staff.email, password="not the password at all")
    with session_scope(runtime.engine) as session:
        account = service.get_by_email(session, email=staff.email)
        service.set_active(
            session, staff=account, active=False, now=runtime.clock.now(), actor="test"
        )

    response = sign_in(client, email=staff.email)

    assert response.status_code == wrong.status_code == 401
    assert "disabled" not in response.text
    assert _alert(response.text) == _alert(wrong.text)
    assert "inbox_session" not in response.headers.get("set-cookie", "")


def _alert(html: str) -> str:
    return html[html.index('role="alert"') :].split("</div>")[0]


def test_changing_the_password_signs_out_other_browsers_only(app, client, staff):
    sign_in(client, email=staff.email)
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, email=staff.email)
        token = csrf_token(client.get("/account/password").text)

        response = client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
        )

        assert response.status_code == 303
        assert response.headers["location"] == "/account/password?changed=true"
        assert other.get("/account/password").status_code == 303
    page = client.get("/account/password?changed=true")
    assert page.status_code == 200
    assert "Your password was changed" in page.text


def test_the_new_password_works_and_the_old_one_not(app, client, staff):
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/account/password").text)
    client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    with TestClient(app, follow_redirects=False) as fresh:
        assert sign_in(fresh, email=staff.email).status_code == 401
        assert sign_in(fresh, email=staff.email, password=NEW_PASSWORD).status_code == 303


def test_password_change_needs_the_current_password(client, staff):
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/account/password").text)

    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "a guess of the password",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 422
    assert 'aria-describedby="current_password-error"' in response.text
    assert "not your current password" in response.text


def test_password_change_refuses_short_and_mismatched_passwords(client, staff):
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/account/password").text)
    base = {"csrf_token": token, "current_password": PASSWORD}

    short = client.post(
        "/account/password", data={**base, "new_password": "short", "confirm_password": "short"}
    )
    mismatch = client.post(
        "/account/password",
        data={**base, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "x"},
    )

    assert short.status_code == 422 and "at least 12 characters" in short.text
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
