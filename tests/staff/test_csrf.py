"""Every state-changing staff route needs the session's CSRF token: walk every route."""

from __future__ import annotations

from tests.staff.factories import csrf_token, sign_in
from tests.staff.routes import UNSAFE_METHODS, is_public, walk


def state_changing_routes(app) -> list[tuple[str, str]]:
    return [
        (method, url)
        for method, path, url in walk(app)
        if method in UNSAFE_METHODS and not is_public(path)
    ]


def test_every_state_changing_route_refuses_a_missing_or_wrong_token(client, admin):
    sign_in(client, email=admin.email)
    routes = state_changing_routes(client.app)
    assert ("POST", "/logout") in routes and ("POST", "/admin/staff/1/disable") in routes

    accepted = []
    for method, url in routes:
        for data in ({}, {"csrf_token": "not-the-token"}):
            response = client.request(method, url, data=data)
            if response.status_code != 403:
                accepted.append(f"{method} {url} {data} -> {response.status_code}")
    assert not accepted, "state change without a valid CSRF token:\n" + "\n".join(accepted)
    assert client.get("/account/password").status_code == 200  # still signed in


def test_the_refusal_says_what_to_do(client, admin):
    sign_in(client, email=admin.email)

    response = client.post("/admin/staff/1/disable")

    assert response.status_code == 403
    assert "reload the page" in response.text


def test_a_token_of_another_session_is_refused(app, client, admin, staff):
    from fastapi.testclient import TestClient

    sign_in(client, email=admin.email)
    with TestClient(app, follow_redirects=False) as other:
        sign_in(other, email=staff.email)
        foreign = csrf_token(other.get("/account/password").text)

    response = client.post(f"/admin/staff/{staff.id}/disable", data={"csrf_token": foreign})

    assert response.status_code == 403
