"""Admin pages: only admins, and what they do."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.staff.factories import PASSWORD, csrf_token, sign_in


@pytest.mark.parametrize("path", ["/admin/staff", "/admin/audit"])
def test_staff_cannot_open_admin_pages(client, staff, path):
    sign_in(client, email=staff.email)

    response = client.get(path)

    assert response.status_code == 403
    assert "Only administrators" in response.text


def test_staff_cannot_use_admin_actions_even_with_a_valid_token(client, staff, admin):
    sign_in(client, email=staff.email)
    token = csrf_token(client.get("/account/password").text)

    create = client.post(
        "/admin/staff",
        data={
            "csrf_token": token,
            "email": "x@hospital.example",
            "password": PASSWORD,
            "role": "admin",
        },
    )
    disable = client.post(f"/admin/staff/{admin.id}/disable", data={"csrf_token": token})

    assert create.status_code == disable.status_code == 403


def test_staff_pages_hide_admin_links_from_staff(client, staff):
    sign_in(client, email=staff.email)

    assert "/admin/audit" not in client.get("/account/password").text


def test_admin_creates_an_account_that_can_sign_in(app, client, admin):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)

    response = client.post(
        "/admin/staff",
        data={
            "csrf_token": token,
            "email": "New.Nurse@Hospital.example",
            "password": PASSWORD,
            "role": "staff",
        },
    )

    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "The account was created" in page.text
    assert "new.nurse@hospital.example" in page.text
    with TestClient(app, follow_redirects=False) as newcomer:
        assert sign_in(newcomer, email="new.nurse@hospital.example").status_code == 303
        token = csrf_token(newcomer.get("/account/password").text)
        new = "the nurse's own passphrase"
        fields = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
        assert newcomer.post("/account/password", data={"csrf_token": token, **fields}).is_redirect
        assert newcomer.get("/admin/staff").status_code == 403


def test_account_form_errors_are_linked_to_their_fields(client, admin):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)

    response = client.post(
        "/admin/staff",
        data={"csrf_token": token, "email": "not-an-address", "password": "short", "role": "staff"},
    )

    assert response.status_code == 422
    assert 'aria-describedby="email-error"' in response.text
    assert 'aria-describedby="password-hint password-error"' in response.text
    assert 'value="not-an-address"' in response.text


def test_an_address_can_have_only_one_account(client, admin, staff):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)

    response = client.post(
        "/admin/staff",
        data={"csrf_token": token, "email": staff.email, "password": PASSWORD, "role": "staff"},
    )

    assert response.status_code == 409
    assert "already a staff account" in response.text


def test_admin_disables_and_enables_an_account(app, client, admin, staff):
    sign_in(client, email=admin.email)
    with TestClient(app, follow_redirects=False) as nurse:
        sign_in(nurse, email=staff.email)
        token = csrf_token(client.get("/admin/staff").text)

        disabled = client.post(f"/admin/staff/{staff.id}/disable", data={"csrf_token": token})

        assert disabled.status_code == 303
        assert nurse.get("/account/password").status_code == 303
        assert sign_in(nurse, email=staff.email).status_code == 401
        assert (
            client.post(f"/admin/staff/{staff.id}/enable", data={"csrf_token": token}).status_code
            == 303
        )
        assert sign_in(nurse, email=staff.email).status_code == 303


def test_admin_cannot_disable_themselves(client, admin):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)

    response = client.post(f"/admin/staff/{admin.id}/disable", data={"csrf_token": token})

    assert response.status_code == 409
    assert client.get("/admin/staff").status_code == 200


def test_disabling_an_unknown_account_is_404(client, admin):
    sign_in(client, email=admin.email)
    token = csrf_token(client.get("/admin/staff").text)

    assert client.post("/admin/staff/999/disable", data={"csrf_token": token}).status_code == 404
