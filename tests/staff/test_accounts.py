"""Passwords and sessions: common passwords and one's own address are refused, the current
password check is throttled, sessions end after an absolute lifetime, the sessions page signs
out everywhere, and a password an administrator chose must be replaced at first sign-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from inbox.errors import InvalidInput
from inbox.staff import passwords
from tests.staff.factories import PASSWORD, csrf_token, make_staff, sign_in

NEW_PASSWORD = "a brand new passphrase here"


def test_at_least_ten_thousand_common_passwords_are_known():
    assert len(passwords.common_passwords()) >= 10_000


@pytest.mark.parametrize("password", ["1qaz2wsx3edc", "QWERTY123456", "qwerty 123456"])
def test_a_common_password_is_refused_however_it_is_written(runtime, password):
    with pytest.raises(InvalidInput) as refused:
        make_staff(runtime, email="nurse@hospital.example", password=password)

    assert "most used passwords" in refused.value.errors["password"]


@pytest.mark.parametrize(
    "password",
    ["nurse.night@hospital.example", "NurseNight@Hospital.Example", "Nurse Night Hospital Example"],
)
def test_ones_own_address_is_refused_as_a_password(runtime, password):
    with pytest.raises(InvalidInput) as refused:
        make_staff(runtime, email="nurse.night@hospital.example", password=password)

    assert "e-mail address" in refused.value.errors["password"]


def change(client: TestClient, current: str, new: str = NEW_PASSWORD):
    token = csrf_token(client.get("/account/password").text)
    fields = {"current_password": current, "new_password": new, "confirm_password": new}
    return client.post("/account/password", data={"csrf_token": token, **fields})


def test_the_password_page_refuses_a_common_password(client, staff):
    sign_in(client, email=staff.email)

    response = change(client, PASSWORD, "123qweasdzxc")

    assert response.status_code == 422
    assert "most used passwords" in response.text


def test_guessing_the_current_password_on_the_change_page_is_throttled(client, staff, settings):
    sign_in(client, email=staff.email)
    for _ in range(settings.login_attempts_per_15min):
        assert change(client, "not my password at all").status_code == 422

    response = change(client, PASSWORD)

    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert (
        sign_in(TestClient(client.app, follow_redirects=False), email=staff.email).status_code
        == 303
    )


def test_a_session_ends_after_its_absolute_lifetime_however_busy(client, staff, clock, settings):
    sign_in(client, email=staff.email)
    step = timedelta(minutes=settings.session_idle_minutes - 5)
    elapsed = timedelta()
    while elapsed + step < timedelta(hours=settings.session_absolute_hours):
        clock.advance(step)
        elapsed += step
        assert client.get("/account/password").status_code == 200
    clock.advance(timedelta(hours=settings.session_absolute_hours) - elapsed)

    response = client.get("/account/password")

    assert response.status_code == 303
    assert "ended=1" in response.headers["location"]


def test_the_sessions_page_lists_ones_browsers_and_signs_out_everywhere(app, client, staff):
    sign_in(client, email=staff.email)
    with TestClient(app, follow_redirects=False, headers={"user-agent": "Ward PC Firefox"}) as ward:
        sign_in(ward, email=staff.email)

        page = client.get("/account/sessions")
        assert page.status_code == 200
        assert "Ward PC Firefox" in page.text and "(this browser)" in page.text
        ended = client.post("/account/sessions/end-all", data={"csrf_token": csrf_token(page.text)})

        assert ended.status_code == 303 and ended.headers["location"] == "/login"
        assert ward.get("/account/password").status_code == 303
    assert client.get("/account/password").status_code == 303


def test_the_sessions_page_shows_only_ones_own_browsers(app, client, runtime, staff):
    other = make_staff(runtime, email="other@hospital.example")
    with TestClient(
        app, follow_redirects=False, headers={"user-agent": "Other Desk Chrome"}
    ) as desk:
        sign_in(desk, email=other.email)
    sign_in(client, email=staff.email)

    assert "Other Desk Chrome" not in client.get("/account/sessions").text


def test_an_account_an_admin_created_must_choose_its_own_password(app, client, admin):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)
    fields = {"email": "new@hospital.example", "password": PASSWORD, "role": "staff"}
    assert client.post("/admin/staff", data={"csrf_token": token, **fields}).status_code == 303

    with TestClient(app, follow_redirects=False) as newcomer:
        first = sign_in(newcomer, email="new@hospital.example")
        assert first.headers["location"] == "/account/password"
        assert newcomer.get("/inbox").headers["location"] == "/account/password"
        assert "set by an administrator" in newcomer.get("/account/password").text

        assert change(newcomer, PASSWORD).status_code == 303
        assert newcomer.get("/inbox").status_code == 200
